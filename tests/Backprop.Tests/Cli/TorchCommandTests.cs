using System.Globalization;
using System.Text.Json;
using Backprop.Data;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Tests.Golden;
using Backprop.Training;

namespace Backprop.Tests.Cli;

/// <summary>
/// <c>backprop import-torch</c> and <c>export-torch</c> as a user runs them: the imported PyTorch model works with
/// predict, evaluate and summary, the export is the file PyTorch loaded, and each mistake is one line.
/// </summary>
public sealed class TorchCommandTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-torchcli-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string PathOf(string name) => Path.Combine(dir, name);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static readonly TorchWeightsModel Mlp = TorchWeightsReference.Model("mlp");

    private static string MlpFile => Mlp.PathOf(Mlp.File);

    [Fact]
    public void AnImportedPyTorchClassifierPredictsPyTorchsProbabilitiesAndEvaluatesAndSummarizes()
    {
        var saved = PathOf("iris-torch.safetensors");
        var (code, stdout, stderr) = Run("import-torch", MlpFile, "--model", Mlp.Spec, "--dataset", "iris", "--save", saved);
        Assert.True(code == 0, stderr);
        Assert.Equal(
            "0            →  0: Dense(4→16)  [weight (F64), bias (F64)]\n" +
            "2            →  2: Dense(16→8)  [weight (F64), bias (F64)]\n" +
            "4            →  4: Dense(8→3)  [weight (F64), bias (F64)]\n" +
            "matched in the order of the module names\n" +
            $"saved   {saved}\n", stdout.ReplaceLineEndings("\n"));

        // predict: the PyTorch inputs as a CSV with Iris's columns; the probabilities are the softmax of PyTorch's logits.
        var csv = PathOf("rows.csv");
        int n = Mlp.X.Shape[0];
        File.WriteAllLines(csv, ["sepal_length,sepal_width,petal_length,petal_width",
            .. Enumerable.Range(0, n).Select(i => string.Join(",", Mlp.X.Data.Skip(4 * i).Take(4).Select(v => ((float)v).ToString("R", CultureInfo.InvariantCulture))))]);
        var output = PathOf("predictions.csv");
        (code, _, stderr) = Run("predict", "--model", saved, "--data", csv, "--output", output);
        Assert.True(code == 0, stderr);
        var lines = File.ReadAllLines(output);
        Assert.Equal("sepal_length,sepal_width,petal_length,petal_width,prediction,p_setosa,p_versicolor,p_virginica", lines[0]);
        for (int i = 0; i < n; i++)
        {
            var logits = Mlp.Y.Data.Skip(3 * i).Take(3).ToArray();
            double max = logits.Max(), sum = logits.Sum(z => Math.Exp(z - max));
            var cells = lines[i + 1].Split(',');
            for (int c = 0; c < 3; c++)
                Assert.Equal(Math.Exp(logits[c] - max) / sum, double.Parse(cells[5 + c], CultureInfo.InvariantCulture), 1e-5);
            Assert.Equal(new[] { "setosa", "versicolor", "virginica" }[Array.IndexOf(logits, max)], cells[4]);
        }

        (code, stdout, _) = Run("evaluate", "--model", saved, "--json");
        Assert.Equal(0, code);
        var (model, _) = ModelFile.Load(saved);
        var expected = model.Evaluate(Datasets.Iris(), Losses.CrossEntropy);
        var result = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(150, result.GetProperty("rows").GetInt32());
        Assert.Equal(expected.Loss, result.GetProperty("loss").GetDouble(), 1e-6);

        (code, stdout, _) = Run("summary", "--model", saved);
        Assert.Equal(0, code);
        Assert.Contains("Dense(16→8)", stdout);
        Assert.Contains("243 parameters", stdout);
    }

    [Fact]
    public void AnImportedCnnExportsTheFilePyTorchLoadedAndPrintsTheModuleToLoadItInto()
    {
        var cnn = TorchWeightsReference.Model("cnn");
        var saved = PathOf("cnn.safetensors");
        var (code, stdout, stderr) = Run("import-torch", cnn.PathOf(cnn.File), "--model", cnn.Spec, "--input", "1x8x8", "--save", saved);
        Assert.True(code == 0, stderr);
        Assert.Contains("features.0    →  1: Conv2d(1→4, 3×3, pad 1)  [weight (F16), bias (F16)]\n", stdout);
        Assert.Contains("classifier.1  →  7: Dense(24→5)  [weight (F16), bias (F16)]\n", stdout);
        Assert.Contains("matched by shape: the module names do not sort in the model's order, and one module fits each layer", stdout);

        var export = PathOf("cnn_torch.safetensors");
        (code, stdout, stderr) = Run("export-torch", "--model", saved, "--save", export);
        Assert.True(code == 0, stderr);
        Assert.Equal(
            $"wrote 6 tensors to {export}: 0.weight, 0.bias, 3.weight, 3.bias, 6.weight, 6.bias\n" +
            $"PyTorch: model = {cnn.Export.Pytorch}\n" +
            $"         model.load_state_dict(safetensors.torch.load_file(\"{export}\"))\n", stdout.ReplaceLineEndings("\n"));
        var loadedByPyTorch = SafeTensors.ReadEntries(cnn.PathOf(cnn.Export.File)).Entries;
        var written = SafeTensors.ReadEntries(export).Entries;
        Assert.Equal(loadedByPyTorch.Keys.Order(), written.Keys.Order());
        foreach (var (key, entry) in loadedByPyTorch) Assert.True(entry.Bytes.Span.SequenceEqual(written[key].Bytes.Span), key);
    }

    [Fact]
    public void AGivenOrderIsUsed()
    {
        var bn = TorchWeightsReference.Model("bn");
        var (code, stdout, stderr) = Run("import-torch", bn.PathOf(bn.File), "--model", bn.Spec, "--input", "2x6x6",
            "--order", "conv1, bn1,fc1,bn2,fc2", "--save", PathOf("bn.safetensors"));
        Assert.True(code == 0, stderr);
        Assert.Contains("matched in the order given by --order", stdout);
    }

    [Fact]
    public void EachMistakeIsOneLineNamingWhatWasExpected()
    {
        var save = PathOf("out.safetensors");
        void Usage(string expected, params string[] args)
        {
            var (code, _, stderr) = Run(["import-torch", .. args]);
            Assert.Equal(2, code);
            Assert.Equal($"backprop import-torch: {expected}", stderr.ReplaceLineEndings("\n").Split('\n')[0]);
        }
        Usage("give the PyTorch file: backprop import-torch FILE.safetensors ...", "--model", "dense(3)", "--input", "4", "--save", save);
        Usage("expected one PyTorch file but got 2: a.safetensors, b.safetensors.", "a.safetensors", "b.safetensors", "--model", "dense(3)", "--input", "4", "--save", save);
        Usage("--model SPEC is required (the PyTorch model's layers, e.g. \"dense(128)-relu-dense(10)\").", MlpFile, "--input", "4", "--save", save);
        Usage("import-torch reads the model language; write mlp:16 as its layers, e.g. \"dense(64)-relu-dense(10)\".", MlpFile, "--model", "mlp:16", "--input", "4", "--save", save);
        Usage("--save OUT.safetensors is required.", MlpFile, "--model", Mlp.Spec, "--input", "4");
        Usage("give --input SHAPE (e.g. 784 or 1x28x28) or the data the model is for (--dataset NAME or --data FILE.csv --target COLUMN).", MlpFile, "--model", Mlp.Spec, "--save", save);
        Usage("--order expects PyTorch module names joined by ',' (e.g. conv1,bn1,fc1) but got '0,,4'.", MlpFile, "--model", Mlp.Spec, "--input", "4", "--order", "0,,4", "--save", save);
        Usage("--input 5 is 5 values per example but the data has 4 features.", MlpFile, "--model", Mlp.Spec, "--dataset", "iris", "--input", "5", "--save", save);

        var (code, _, stderr) = Run("import-torch", PathOf("nope.safetensors"), "--model", Mlp.Spec, "--input", "4", "--save", save);
        Assert.Equal(1, code);
        Assert.Equal($"backprop import-torch: error: model file '{PathOf("nope.safetensors")}' does not exist.\n", stderr.ReplaceLineEndings("\n"));

        (code, _, stderr) = Run("import-torch", MlpFile, "--model", "dense(16)-tanh-dense(3)", "--input", "4", "--save", save);
        Assert.Equal(1, code);
        Assert.StartsWith($"backprop import-torch: error: {MlpFile}: no PyTorch module in the file fits layer 2 of 2 with weights, Dense(16→3) at '2'", stderr);

        var twoClasses = PathOf("two.csv");
        File.WriteAllText(twoClasses, "a,b,c,d,label\n1,2,3,4,yes\n4,3,2,1,no\n");
        (code, _, stderr) = Run("import-torch", MlpFile, "--model", Mlp.Spec, "--data", twoClasses, "--target", "label", "--save", save);
        Assert.Equal(1, code);
        Assert.Equal("backprop import-torch: error: the model gives 3 output(s) per example but the data has 2 classes (no, yes).\n", stderr.ReplaceLineEndings("\n"));
        Assert.False(File.Exists(save));

        (code, _, stderr) = Run("import-torch", MlpFile, "--model", Mlp.Spec, "--input", "4", "--save", dir);
        Assert.Equal(2, code);
        Assert.StartsWith($"backprop import-torch: --save '{dir}' is a folder", stderr);

        (code, _, stderr) = Run("export-torch", "--save", save);
        Assert.Equal(2, code);
        Assert.StartsWith("backprop export-torch: --model FILE is required", stderr);
        (code, _, stderr) = Run("export-torch", "--model", MlpFile, "--save", save);
        Assert.Equal(1, code);
        Assert.Equal($"backprop export-torch: error: {MlpFile}: it is a safetensors file with 6 tensor(s) but no Backprop architecture in its metadata; " +
            "it was probably written by another tool (a PyTorch state dict loads with 'backprop import-torch' or TorchWeights.Import).\n", stderr.ReplaceLineEndings("\n"));
    }
}
