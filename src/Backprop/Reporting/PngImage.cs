using System.Buffers.Binary;
using System.IO.Compression;

namespace Backprop.Reporting;

/// <summary>
/// A minimal PNG writer (8-bit grayscale or RGB, no interlace) for showing samples inline as <c>data:</c> URIs.
/// A PNG is the 8-byte signature, then chunks [length, type, data, CRC-32 of type+data]: IHDR (size, format), IDAT
/// (zlib-compressed rows, each prefixed by filter byte 0 = none) and IEND.
/// </summary>
internal static class PngImage
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>
    /// Encodes pixels [H, W, channels] (row-major, channels 1 = gray or 3 = RGB, one byte each) as a PNG file.
    /// </summary>
    public static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, int channels)
    {
        if (channels is not (1 or 3))
            throw new ArgumentException($"PngImage: expected 1 (gray) or 3 (RGB) channels but got {channels}.");
        if (width < 1 || height < 1 || pixels.Length != width * height * channels)
            throw new ArgumentException($"PngImage: expected {width}×{height}×{channels} = {width * height * channels} bytes but got {pixels.Length}.");

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;                              // bit depth
        header[9] = (byte)(channels == 1 ? 0 : 2);  // colour type: 0 gray, 2 RGB; bytes 10–12: deflate, filter 0, no interlace

        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            int stride = width * channels;
            for (int y = 0; y < height; y++)
            {
                z.WriteByte(0);
                z.Write(pixels.Slice(y * stride, stride));
            }
        }

        using var png = new MemoryStream();
        png.Write(Signature);
        WriteChunk(png, "IHDR", header);
        WriteChunk(png, "IDAT", compressed.ToArray());
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>The PNG as a <c>data:image/png;base64,...</c> URI.</summary>
    public static string DataUri(byte[] png) => "data:image/png;base64," + Convert.ToBase64String(png);

    private static void WriteChunk(Stream s, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        s.Write(word);
        Span<byte> typeBytes = [(byte)type[0], (byte)type[1], (byte)type[2], (byte)type[3]];
        s.Write(typeBytes);
        s.Write(data);
        uint crc = Crc32.Update(Crc32.Update(0xFFFFFFFFu, typeBytes), data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        s.Write(word);
    }

    /// <summary>CRC-32 (polynomial 0xEDB88320, reflected), as PNG and zlib's crc32 define it.</summary>
    internal static class Crc32
    {
        private static readonly uint[] Table = BuildTable();

        private static uint[] BuildTable()
        {
            var table = new uint[256];
            for (uint n = 0; n < 256; n++)
            {
                uint c = n;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                table[n] = c;
            }
            return table;
        }

        /// <summary>Runs the register <paramref name="crc"/> over <paramref name="bytes"/> (start at 0xFFFFFFFF, finish with ^ 0xFFFFFFFF).</summary>
        public static uint Update(uint crc, ReadOnlySpan<byte> bytes)
        {
            foreach (byte b in bytes) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            return crc;
        }
    }
}
