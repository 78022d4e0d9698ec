using System.Buffers.Binary;
using System.IO.Compression;

namespace Backprop.Data;

/// <summary>
/// Reads the IDX format of MNIST and Fashion-MNIST (gzip-compressed or raw): a magic number whose third byte is the
/// element type (0x08 = unsigned byte) and fourth the rank, then each dimension as a big-endian int32, then the data.
/// </summary>
public static class IdxFile
{
    /// <summary>Reads an unsigned-byte IDX file: its dimensions and its bytes in row-major order.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">The file is not an unsigned-byte IDX file or is truncated.</exception>
    public static (int[] Shape, byte[] Data) Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"IDX file '{path}' does not exist.", path);
        // The data is read straight into one array of the size the header gives: no growing buffer, no copy of the
        // whole file (Fashion-MNIST's training images are 47 MB).
        using var file = File.OpenRead(path);
        bool gzip = file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
        file.Position = 0;
        using var stream = gzip ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
        try
        {
            Span<byte> head = stackalloc byte[4];
            if (ReadUpTo(stream, head) < 4 || head[0] != 0 || head[1] != 0)
                throw new DataFormatException($"{path}: not an IDX file (it does not start with the IDX magic number 00 00).", path);
            if (head[2] != 0x08)
                throw new DataFormatException($"{path}: IDX element type 0x{head[2]:x2} is not supported; expected 0x08 (unsigned byte).", path);
            int rank = head[3];
            var dims = new byte[4 * rank];
            if (ReadUpTo(stream, dims) < dims.Length) throw new DataFormatException($"{path}: the IDX header is truncated.", path);
            var shape = new int[rank];
            long size = 1;
            for (int i = 0; i < rank; i++)
            {
                shape[i] = BinaryPrimitives.ReadInt32BigEndian(dims.AsSpan(4 * i));
                if (shape[i] < 0) throw new DataFormatException($"{path}: dimension {i} is negative ({shape[i]}).", path);
                size *= shape[i];
            }
            // Deflate expands at most 1032-fold, so a header promising more than that is refused before allocating.
            long most = gzip ? file.Length * 1032 : file.Length;
            if (size > Math.Min(most, Array.MaxLength))
                throw new DataFormatException($"{path}: the header promises {size} values of shape [{string.Join(",", shape)}] but a file of {file.Length} bytes cannot hold them: it is truncated or corrupt.", path);
            var data = new byte[size];
            long held = ReadUpTo(stream, data);
            if (held == size)
            {
                Span<byte> rest = stackalloc byte[4096];
                for (int n; (n = stream.Read(rest)) > 0;) held += n;
            }
            if (held != size)
                throw new DataFormatException($"{path}: the header promises {size} values of shape [{string.Join(",", shape)}] but the file holds {held}: it is truncated or corrupt.", path);
            return (shape, data);
        }
        catch (InvalidDataException e) { throw new DataFormatException($"{path}: the gzip data is corrupt ({e.Message}).", path); }
    }

    /// <summary>Fills <paramref name="buffer"/> from <paramref name="stream"/> as far as it goes; returns the bytes read.</summary>
    private static int ReadUpTo(Stream stream, Span<byte> buffer)
    {
        int total = 0;
        for (int n; total < buffer.Length && (n = stream.Read(buffer[total..])) > 0;) total += n;
        return total;
    }
}
