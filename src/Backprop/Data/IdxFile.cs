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
        byte[] bytes;
        using (var file = File.OpenRead(path))
        {
            bool gzip = file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
            file.Position = 0;
            using var stream = gzip ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
            using var memory = new MemoryStream();
            try { stream.CopyTo(memory); }
            catch (InvalidDataException e) { throw new DataFormatException($"{path}: the gzip data is corrupt ({e.Message}).", path); }
            bytes = memory.ToArray();
        }
        if (bytes.Length < 4 || bytes[0] != 0 || bytes[1] != 0)
            throw new DataFormatException($"{path}: not an IDX file (it does not start with the IDX magic number 00 00).", path);
        if (bytes[2] != 0x08)
            throw new DataFormatException($"{path}: IDX element type 0x{bytes[2]:x2} is not supported; expected 0x08 (unsigned byte).", path);
        int rank = bytes[3];
        if (bytes.Length < 4 + 4 * rank) throw new DataFormatException($"{path}: the IDX header is truncated.", path);
        var shape = new int[rank];
        long size = 1;
        for (int i = 0; i < rank; i++)
        {
            shape[i] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * i));
            if (shape[i] < 0) throw new DataFormatException($"{path}: dimension {i} is negative ({shape[i]}).", path);
            size *= shape[i];
        }
        int start = 4 + 4 * rank;
        if (bytes.Length - start != size)
            throw new DataFormatException($"{path}: the header promises {size} values of shape [{string.Join(",", shape)}] but the file holds {bytes.Length - start}: it is truncated or corrupt.", path);
        return (shape, bytes[start..]);
    }
}
