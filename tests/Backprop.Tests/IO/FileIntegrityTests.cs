using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Backprop.Data;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.IO;

/// <summary>
/// Model files and checkpoints are verified on load: a checksum of the tensor bytes, tensor ranges that tile the
/// data exactly, finite weights; files of other tools (no checksum) still load; leftovers of killed writes go.
/// </summary>
public sealed class FileIntegrityTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-integrity-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string PathOf(string name) => Path.Combine(dir, name);

    private static Sequential SmallModel() => new(new Dense(4, 6, rng: new Rng(1)), new Relu(), new Dense(6, 3, rng: new Rng(2)));

    /// <summary>A safetensors file by hand: the 8-byte length, the header padded with spaces to 8 bytes, the data.</summary>
    private static byte[] HandMade(string header, params float[] data)
    {
        var json = Encoding.UTF8.GetBytes(header);
        int padded = (json.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded + data.Length * 4];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        json.CopyTo(bytes, 8);
        for (int i = json.Length; i < padded; i++) bytes[8 + i] = (byte)' ';
        for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(8 + padded + 4 * i), data[i]);
        return bytes;
    }

    private static int DataStart(byte[] bytes) => 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);

    [Fact]
    public void FlippedBytesInAModelFileFailTheChecksumNamingTheFile()
    {
        var path = PathOf("m.safetensors");
        SmallModel().Save(path);
        var bytes = File.ReadAllBytes(path);
        int start = DataStart(bytes);
        for (int i = start + 4; i < start + 24; i++) bytes[i] ^= 0x5A;
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<ModelFormatException>(() => ModelFile.Load(path));
        Assert.StartsWith($"{path}: corrupt: checksum mismatch: its tensor data has SHA-256 ", e.Message);
        Assert.EndsWith("; the file was damaged after it was written. Use an undamaged copy or train again.", e.Message);
        Assert.Equal(path, e.FilePath);
    }

    [Fact]
    public void AnUndamagedFileRecordsTheSha256OfItsDataAndKeepsItOutOfTheMetadata()
    {
        var path = PathOf("m.safetensors");
        SmallModel().Save(path);
        var bytes = File.ReadAllBytes(path);
        int start = DataStart(bytes);
        var header = JsonNode.Parse(bytes.AsSpan(8, start - 8))!.AsObject();
        var expected = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes.AsSpan(start)));
        Assert.Equal(expected, (string?)header["__metadata__"]!["backprop.sha256"]);
        Assert.DoesNotContain("backprop.sha256", SafeTensors.Read(path).Metadata.Keys);
    }

    [Fact]
    public void AFlippedCheckpointIsRefusedBeforeResuming()
    {
        var model = SmallModel();
        var data = Standardizer.Fit(Datasets.Iris().Features).Transform(Datasets.Iris());
        model.Fit(data, Losses.CrossEntropy, new Adam(model.Parameters(), 0.01f), new FitOptions { Epochs = 1, BatchSize = 16, CheckpointDirectory = dir });
        var path = Checkpoint.PathIn(dir);
        var bytes = File.ReadAllBytes(path);
        bytes[^3] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<ModelFormatException>(() => Checkpoint.ReadMetadata(dir));
        Assert.StartsWith($"{path}: corrupt: checksum mismatch:", e.Message);
        var again = SmallModel();
        e = Assert.Throws<ModelFormatException>(() => again.Fit(data, Losses.CrossEntropy, new Adam(again.Parameters(), 0.01f),
            new FitOptions { Epochs = 2, BatchSize = 16, CheckpointDirectory = dir, Resume = true }));
        Assert.StartsWith($"{path}: corrupt: checksum mismatch:", e.Message);
    }

    [Fact]
    public void AFileWithoutAChecksumAsOtherToolsWriteItLoads()
    {
        // Laid out as PyTorch's safetensors writer does: "format": "pt" metadata, keys sorted, no checksum.
        var path = PathOf("torch.safetensors");
        File.WriteAllBytes(path, HandMade(
            "{\"__metadata__\":{\"format\":\"pt\"},\"bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," +
            "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[8,24]}}", 0.5f, -1f, 1f, 2f, 3f, 4f));
        var (tensors, metadata) = SafeTensors.Read(path);
        Assert.Equal([0.5f, -1f], tensors["bias"].ToArray());
        Assert.Equal([1f, 2f, 3f, 4f], tensors["weight"].ToArray());
        Assert.Equal("pt", metadata["format"]);
    }

    [Fact]
    public void AModelFileWhoseChecksumWasRemovedStillLoads()
    {
        var path = PathOf("m.safetensors");
        var model = SmallModel();
        model.Save(path);
        var bytes = File.ReadAllBytes(path);
        int start = DataStart(bytes);
        var header = JsonNode.Parse(bytes.AsSpan(8, start - 8))!.AsObject();
        header["__metadata__"]!.AsObject().Remove("backprop.sha256");
        var data = bytes.AsSpan(start).ToArray();
        var floats = new float[data.Length / 4];
        for (int i = 0; i < floats.Length; i++) floats[i] = BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(4 * i));
        File.WriteAllBytes(path, HandMade(header.ToJsonString(), floats));

        var x = Datasets.Iris().Features;
        Assert.Equal(model.Predict(x).ToArray(), ModelFile.Load(path).Model.Predict(x).ToArray());
    }

    [Fact]
    public void OverlappingRangesAreRefusedNamingBothTensors()
    {
        // The audit's case: the bias read from the first bytes of the weight.
        var path = PathOf("overlap.safetensors");
        File.WriteAllBytes(path, HandMade(
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 1f, 2f, 3f));
        var e = Assert.Throws<ModelFormatException>(() => SafeTensors.Read(path));
        Assert.Equal($"{path}: the data of tensors 'b' [0, 4) and 'w' [0, 12) overlap; each byte must belong to one tensor (the file is corrupt or was crafted).", e.Message);
    }

    [Fact]
    public void GapsAndTrailingBytesAreRefused()
    {
        var gap = PathOf("gap.safetensors");
        File.WriteAllBytes(gap, HandMade(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 1f, 2f, 3f));
        Assert.Equal($"{gap}: bytes [4, 8) of the data, before tensor 'b', belong to no tensor; safetensors data must be packed without gaps (the file is corrupt).",
            Assert.Throws<ModelFormatException>(() => SafeTensors.Read(gap)).Message);

        var trailing = PathOf("trailing.safetensors");
        File.WriteAllBytes(trailing, HandMade("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 1f, 2f));
        Assert.Equal($"{trailing}: the data holds 4 bytes after the last tensor, which ends at byte 4; the file is corrupt or not a safetensors file.",
            Assert.Throws<ModelFormatException>(() => SafeTensors.Read(trailing)).Message);
    }

    [Fact]
    public void HeaderOrderMayDifferFromDataOrderAsTheFormatAllows()
    {
        // The reference implementation sorts the ranges by offset before checking them; so does this reader.
        var path = PathOf("order.safetensors");
        File.WriteAllBytes(path, HandMade(
            "{\"second\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},\"empty\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}," +
            "\"first\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 7f, 8f, 9f));
        var (tensors, _) = SafeTensors.Read(path);
        Assert.Equal([7f], tensors["first"].ToArray());
        Assert.Equal([8f, 9f], tensors["second"].ToArray());
        Assert.Equal(0, tensors["empty"].Size);
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "Infinity")]
    public void NonFiniteWeightsAreRefusedNamingTheTensor(float bad, string shown)
    {
        var model = SmallModel();
        var weight = model.NamedParameters().Single(p => p.Name == "2.weight").Parameter;
        weight.AsSpan()[7] = bad;
        var path = PathOf("bad.safetensors");
        model.Save(path);
        var e = Assert.Throws<ModelFormatException>(() => ModelFile.Load(path));
        Assert.Equal($"{path}: tensor '2.weight' [6,3] holds {shown} at index 7 (1 of its 18 values are not finite); weights must be finite numbers. " +
            "The file is damaged, or training had diverged when it was saved: train again, with a smaller learning rate if it diverged.", e.Message);
    }

    [Fact]
    public void ACheckpointWithNaNWeightsIsRefusedOnResumeNamingTheTensor()
    {
        var data = Standardizer.Fit(Datasets.Iris().Features).Transform(Datasets.Iris());
        FitOptions Options(bool resume) => new() { Epochs = 2, BatchSize = 16, CheckpointDirectory = dir, Resume = resume };
        var model = SmallModel();
        model.Fit(data, Losses.CrossEntropy, new Adam(model.Parameters(), 0.01f), Options(false) with { Epochs = 1 });
        var path = Checkpoint.PathIn(dir);
        var (tensors, metadata) = SafeTensors.Read(path);
        tensors["model.0.bias"].AsSpan()[2] = float.NaN;
        SafeTensors.Write(path, [.. tensors.Select(kv => (kv.Key, kv.Value))], metadata);   // a valid checksum over a NaN

        var again = SmallModel();
        var e = Assert.Throws<ModelFormatException>(() => again.Fit(data, Losses.CrossEntropy, new Adam(again.Parameters(), 0.01f), Options(true)));
        Assert.StartsWith($"{path}: tensor 'model.0.bias' [6] holds NaN at index 2 (1 of its 6 values are not finite)", e.Message);
    }

    [Fact]
    public void ASaveDeletesOnlyTheStaleTemporaryFilesOfItsOwnName()
    {
        var path = PathOf("m.safetensors");
        var stale = PathOf(".m.safetensors.2147483646.tmp");            // no such process
        string[] kept =
        [
            PathOf(".m.safetensors.1.tmp"),                              // process 1 is running: a write in progress
            PathOf(".m.safetensors.tmp"), PathOf(".m.safetensors.12a.tmp"), PathOf("m.safetensors.123.tmp"),
            PathOf(".other.safetensors.123.tmp"), PathOf(".m.safetensors.123.tmp.bak"), PathOf(".m.safetensors.-5.tmp"),
        ];
        foreach (var f in kept.Append(stale)) File.WriteAllText(f, "x");

        SmallModel().Save(path);
        Assert.False(File.Exists(stale));
        Assert.All(kept, f => Assert.True(File.Exists(f), f));
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void ACheckpointWriteCleansTheTemporaryFileOfAKilledOne()
    {
        var stale = Path.Combine(dir, ".checkpoint.safetensors.2147483646.tmp");
        File.WriteAllBytes(stale, new byte[1000]);
        var model = SmallModel();
        var data = Standardizer.Fit(Datasets.Iris().Features).Transform(Datasets.Iris());
        model.Fit(data, Losses.CrossEntropy, new Adam(model.Parameters(), 0.01f), new FitOptions { Epochs = 1, BatchSize = 16, CheckpointDirectory = dir });
        Assert.Equal([Checkpoint.PathIn(dir)], Directory.GetFiles(dir));
    }
}
