using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Backprop.Reporting;

namespace Backprop.Tests.Reporting;

public sealed class PngImageTests
{
    [Fact]
    public void CrcMatchesTheStandardCheckValue()
    {
        // CRC-32 of "123456789" is 0xCBF43926 (the catalogue check value); IEND's CRC is the well-known AE426082.
        Assert.Equal(0xCBF43926u, PngImage.Crc32.Update(0xFFFFFFFFu, Encoding.ASCII.GetBytes("123456789")) ^ 0xFFFFFFFFu);
        Assert.Equal(0xAE426082u, PngImage.Crc32.Update(0xFFFFFFFFu, "IEND"u8) ^ 0xFFFFFFFFu);
    }

    [Fact]
    public void GrayImageHasHeaderAndFilteredRows()
    {
        var png = PngImage.Encode([0, 255, 128, 64, 1, 2], width: 3, height: 2, channels: 1);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        // IHDR: length 13, type, width 3, height 2, depth 8, colour type 0, compression 0, filter 0, interlace 0.
        Assert.Equal(13, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(8)));
        Assert.Equal("IHDR", Encoding.ASCII.GetString(png, 12, 4));
        Assert.Equal(3, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        Assert.Equal(2, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
        Assert.Equal(new byte[] { 8, 0, 0, 0, 0 }, png[24..29]);
        // IDAT follows IHDR's CRC; inflated, each row starts with filter byte 0.
        int idatLength = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(33));
        Assert.Equal("IDAT", Encoding.ASCII.GetString(png, 37, 4));
        using var z = new ZLibStream(new MemoryStream(png, 41, idatLength), CompressionMode.Decompress);
        using var raw = new MemoryStream();
        z.CopyTo(raw);
        Assert.Equal(new byte[] { 0, 0, 255, 128, 0, 64, 1, 2 }, raw.ToArray());
        Assert.Equal("IEND", Encoding.ASCII.GetString(png, png.Length - 8, 4));
    }

    [Fact]
    public void RejectsWrongSizes()
    {
        var e = Assert.Throws<ArgumentException>(() => PngImage.Encode(new byte[5], 3, 2, 1));
        Assert.Contains("expected 3×2×1 = 6 bytes but got 5", e.Message);
        Assert.Throws<ArgumentException>(() => PngImage.Encode(new byte[8], 2, 2, 2));
    }

    [Fact]
    public void SamplesMapTheDataRangeToBytes()
    {
        // Two 1×2×2 images; min 0 and max 2 over both map to 0 and 255 (so 1 → 128, 0.5 → 64).
        var images = new SampleImages([0f, 0.5f, 1f, 2f, 1f, 1f, 1f, 1f], [1, 2, 2]);
        Assert.Equal(new byte[] { 0, 64, 128, 255 }, images.Pixels(0));
        Assert.Equal(new byte[] { 128, 128, 128, 128 }, images.Pixels(1));
        Assert.Equal(84, images.DisplayWidth);  // 2 pixels × 42
        // [3, 1, 2] planes R = (0, 1), G = (1, 0), B = (0, 0) interleave to RGB RGB.
        var rgb = new SampleImages([0f, 1f, 1f, 0f, 0f, 0f], [3, 1, 2]);
        Assert.Equal(new byte[] { 0, 255, 0, 255, 0, 0 }, rgb.Pixels(0));
        Assert.False(SampleImages.CanDraw([4]));
        Assert.False(SampleImages.CanDraw([2, 3, 3]));
    }
}
