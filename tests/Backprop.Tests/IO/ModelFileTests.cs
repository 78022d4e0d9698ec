using System.Buffers.Binary;
using System.Text;
using Backprop.Data;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Tests.IO;

public sealed class ModelFileTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-io-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string PathOf(string name) => Path.Combine(dir, name);

    private static Sequential SmallModel() =>
        new(new Dense(4, 6, rng: new Rng(1)), new Relu(), new Dense(6, 3, rng: new Rng(2)), new Softmax());

    [Fact]
    public void SaveThenLoadGivesIdenticalPredictionsAndInfo()
    {
        var model = SmallModel();
        var info = new ModelInfo { FeatureNames = ["a", "b", "c", "d"], ClassNames = ["x", "y", "z"], InputMean = [1, 2, 3, 4], InputStd = [1, 1, 2, 2], Loss = "mse" };
        var path = PathOf("m.safetensors");
        model.Save(path, info);
        var (loaded, loadedInfo) = ModelFile.Load(path);

        var x = Datasets.Iris().Features;
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        Assert.Equal(model.ToString(), loaded.ToString());
        Assert.Equal(info.ClassNames, loadedInfo.ClassNames);
        Assert.Equal(info.InputStd, loadedInfo.InputStd);
        Assert.Equal("mse", loadedInfo.Loss);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void FileIsStandardSafetensors()
    {
        var path = PathOf("m.safetensors");
        new Dense(2, 3, rng: new Rng(1)).Save(path);
        var bytes = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        Assert.Contains("\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}", header);
        Assert.Contains("\"bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}", header);
        Assert.Equal(8 + headerLength + 36, bytes.Length);
        Assert.Equal(0, (8 + headerLength) % 8);
    }

    [Fact]
    public void TruncatedFileGetsAClearError()
    {
        var path = PathOf("m.safetensors");
        SmallModel().Save(path);
        var bytes = File.ReadAllBytes(path);
        foreach (int keep in new[] { 0, 5, 40, bytes.Length - 10 })
        {
            var cut = PathOf($"cut{keep}.safetensors");
            File.WriteAllBytes(cut, bytes[..keep]);
            var e = Assert.Throws<ModelFormatException>(() => ModelFile.Load(cut));
            Assert.Contains(cut, e.Message);
            Assert.Matches("too short|truncated", e.Message);
        }
    }

    [Fact]
    public void ForeignAndCorruptFilesGetClearErrors()
    {
        var foreign = PathOf("foreign.safetensors");
        SafeTensors.Write(foreign, [("embedding", Tensor.Zeros(3, 2))]);
        Assert.Contains("another tool", Assert.Throws<ModelFormatException>(() => ModelFile.Load(foreign)).Message);

        var text = PathOf("notes.safetensors");
        File.WriteAllText(text, "this is not a model at all, just some text in a file");
        Assert.IsType<ModelFormatException>(Record.Exception(() => ModelFile.Load(text)));

        var missing = PathOf("missing.safetensors");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => ModelFile.Load(missing)).Message);
    }

    [Fact]
    public void WeightsThatDoNotFitTheArchitectureAreRejected()
    {
        var path = PathOf("m.safetensors");
        var model = new Dense(2, 3, rng: new Rng(1));
        model.Save(path);
        var (tensors, meta) = SafeTensors.Read(path);
        SafeTensors.Write(path, [("weight", Tensor.Zeros(3, 3)), ("bias", tensors["bias"])], meta);
        var e = Assert.Throws<ModelFormatException>(() => ModelFile.Load(path));
        Assert.Contains("'weight' should have shape [2,3] but the file stores [3,3]", e.Message);
    }

    [Fact]
    public void FailedWriteLeavesThePreviousFileIntact()
    {
        var path = PathOf("m.safetensors");
        new Dense(2, 3, rng: new Rng(1)).Save(path);
        var before = File.ReadAllBytes(path);
        Assert.ThrowsAny<ArgumentException>(() => SafeTensors.Write(path, [("w", Tensor.Zeros(1)), ("w", Tensor.Zeros(1))]));
        Assert.Equal(before, File.ReadAllBytes(path));
    }
}
