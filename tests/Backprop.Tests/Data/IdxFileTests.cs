using System.IO.Compression;
using Backprop.Data;

namespace Backprop.Tests.Data;

public sealed class IdxFileTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-idx-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static byte[] Idx(int[] shape, byte[] data)
    {
        var bytes = new List<byte> { 0, 0, 0x08, (byte)shape.Length };
        foreach (var d in shape) bytes.AddRange([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        bytes.AddRange(data);
        return [.. bytes];
    }

    private void WriteGz(string name, byte[] bytes)
    {
        using var file = File.Create(Path.Combine(dir, name));
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        gz.Write(bytes);
    }

    [Fact]
    public void ReadsRawAndGzipFiles()
    {
        var bytes = Idx([2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
        File.WriteAllBytes(Path.Combine(dir, "raw"), bytes);
        WriteGz("packed.gz", bytes);
        foreach (var name in new[] { "raw", "packed.gz" })
        {
            var (shape, data) = IdxFile.Read(Path.Combine(dir, name));
            Assert.Equal([2, 2, 3], shape);
            Assert.Equal(255, data[^1]);
            Assert.Equal(12, data.Length);
        }
    }

    [Fact]
    public void MnistLayoutLoadsAsScaledImagesWithLabels()
    {
        WriteGz("t10k-images-idx3-ubyte.gz", Idx([2, 2, 2], [0, 51, 102, 255, 255, 0, 0, 0]));
        File.WriteAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte"), Idx([2], [7, 3]));
        var data = Datasets.Mnist(train: false, directory: dir);
        Assert.Equal(2, data.Count);
        Assert.Equal(4, data.NumFeatures);
        Assert.Equal([0f, 0.2f, 0.4f, 1f], data.Features.ToArray()[..4]);
        Assert.Equal([7f, 3f], data.Targets.ToArray());
        Assert.Equal(10, data.NumClasses);
    }

    [Fact]
    public void TruncatedAndForeignFilesGetClearErrors()
    {
        var cut = Path.Combine(dir, "cut");
        File.WriteAllBytes(cut, Idx([3, 2], [1, 2, 3]));
        Assert.Contains("promises 6 values", Assert.Throws<DataFormatException>(() => IdxFile.Read(cut)).Message);
        var text = Path.Combine(dir, "text");
        File.WriteAllText(text, "hello");
        Assert.Contains("not an IDX file", Assert.Throws<DataFormatException>(() => IdxFile.Read(text)).Message);
    }

    [Fact]
    public void SizesThatDisagreeWithTheFileAreRefused()
    {
        // A header promising far more than the file can hold is refused before the array is allocated.
        var huge = Path.Combine(dir, "huge");
        File.WriteAllBytes(huge, Idx([2_000_000_000], [1, 2, 3]));
        Assert.Contains("cannot hold them", Assert.Throws<DataFormatException>(() => IdxFile.Read(huge)).Message);
        WriteGz("huge.gz", Idx([2_000_000_000], [1, 2, 3]));
        Assert.Contains("cannot hold them", Assert.Throws<DataFormatException>(() => IdxFile.Read(Path.Combine(dir, "huge.gz"))).Message);
        // Bytes past the promised data are as wrong as missing ones.
        WriteGz("long.gz", Idx([2], [1, 2, 3, 4, 5]));
        Assert.Contains("promises 2 values of shape [2] but the file holds 5", Assert.Throws<DataFormatException>(() => IdxFile.Read(Path.Combine(dir, "long.gz"))).Message);
    }

    [Fact]
    public void MissingDatasetSaysHowToInstallIt()
    {
        var e = Assert.Throws<FileNotFoundException>(() => Datasets.Mnist(train: true, directory: dir));
        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
    }
}
