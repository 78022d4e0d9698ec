using System.IO.Compression;

namespace Backprop.Tests.Cli;

/// <summary>Writes small gzipped IDX files (MNIST's format: magic 0 0 8 rank, big-endian sizes, bytes) for CLI tests.</summary>
internal static class GzippedIdx
{
    public static void Write(string path, int[] shape, byte[] data)
    {
        var bytes = new List<byte> { 0, 0, 0x08, (byte)shape.Length };
        foreach (var d in shape) bytes.AddRange([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        bytes.AddRange(data);
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        gz.Write(bytes.ToArray());
    }
}
