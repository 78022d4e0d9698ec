using System.Text.Json;
using Backprop.Data;
using Backprop.IO;
using Backprop.Training;

namespace Backprop.Tests.Cli;

/// <summary>Messages say what the user did, in the project's words; evaluate scores any subset of a model's classes.</summary>
public sealed class MessageCliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-messages-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private string File(string name, string text)
    {
        var path = Path.Combine(dir, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    private string IrisModel()
    {
        var model = Path.Combine(dir, "iris.safetensors");
        Assert.Equal(0, Run("train", "--epochs", "30", "--save", model).Code);
        return model;
    }

    [Fact]
    public void EvaluateScoresDataHoldingOnlySomeOfTheModelsClassesByName()
    {
        var model = IrisModel();
        var iris = Datasets.Iris();
        // Rows of setosa and virginica only: the CSV's own labels are 0 = setosa, 1 = virginica.
        int[] rows = [.. Enumerable.Range(0, iris.Count).Where(i => iris.Targets.ToArray()[i] != 1)];
        var subset = iris.Subset(rows);
        var csv = Path.Combine(dir, "two.csv");
        CsvDataset.Save(csv, subset, "species");
        Assert.Equal(["setosa", "virginica"], CsvDataset.Load(csv, "species").ClassNames);

        var (code, stdout, stderr) = Run("evaluate", "--model", model, "--data", csv, "--target", "species", "--json");
        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        var json = JsonDocument.Parse(stdout).RootElement;

        // The same rows labelled with the model's three classes, scored by the library.
        var (m, info) = ModelFile.Load(model);
        var prepared = subset.WithFeatures(new Standardizer(info.InputMean!, info.InputStd!).Transform(subset.Features));
        var expected = m.Evaluate(prepared, Backprop.Nn.Losses.CrossEntropy);
        Assert.Equal(100, json.GetProperty("rows").GetInt32());
        Assert.Equal(expected.Loss, json.GetProperty("loss").GetDouble(), 6);
        Assert.Equal(expected.Accuracy!.Value, json.GetProperty("accuracy").GetDouble(), 10);

        // Ten rows of one class, with a report, also score.
        var one = Path.Combine(dir, "one.csv");
        CsvDataset.Save(one, iris.Subset([.. rows.Take(10)]), "species");
        var (oneCode, oneOut, _) = Run("evaluate", "--model", model, "--data", one, "--target", "species", "--report", Path.Combine(dir, "rep"));
        Assert.Equal(0, oneCode);
        Assert.StartsWith("one: 10 rows  loss ", oneOut);
    }

    [Fact]
    public void EvaluateRefusesAClassTheModelNeverSawNamingIt()
    {
        var model = IrisModel();
        var csv = Path.Combine(dir, "iris.csv");
        CsvDataset.Save(csv, Datasets.Iris(), "species");
        var lines = System.IO.File.ReadAllLines(csv);
        lines[1] = lines[1][..lines[1].LastIndexOf(',')] + ",daisy";
        System.IO.File.WriteAllLines(csv, lines);
        var (code, _, stderr) = Run("evaluate", "--model", model, "--data", csv, "--target", "species");
        Assert.Equal(1, code);
        Assert.Equal("backprop evaluate: error: the data has class 'daisy' that the model never saw; its classes are setosa, versicolor, virginica.\n",
            stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void DatasetWithClassesRenumbersByNameAndRefusesAStranger()
    {
        var data = new Dataset(Tensor.Zeros(3, 1), Tensor.FromArray([1f, 0f, 1f], 3), classNames: ["b", "c"], name: "d");
        var relabelled = data.WithClasses(["a", "b", "c"]);
        Assert.Equal([2f, 1f, 2f], relabelled.Targets.ToArray());
        Assert.Equal(["a", "b", "c"], relabelled.ClassNames);
        var e = Assert.Throws<ArgumentException>(() => data.WithClasses(["a", "b"]));
        Assert.StartsWith("'d' has class 'c', which is not one of the 2 expected (a, b).", e.Message);
    }

    [Fact]
    public void EpochLinesAndReportsSayTestForTheTestSplitAndValOnlyForAValidationSplit()
    {
        var report = Path.Combine(dir, "rep-test");
        var (_, stdout, _) = Run("train", "--epochs", "2", "--save", Path.Combine(dir, "a.safetensors"), "--report", report);
        var epoch = stdout.Split('\n').First(l => l.StartsWith("epoch 1/2", StringComparison.Ordinal));
        Assert.Matches(@"^epoch 1/2  loss \d\.\d{4}  acc \d\.\d{4}  test_loss \d\.\d{4}  test_acc \d\.\d{4}  ", epoch);
        var history = JsonDocument.Parse(System.IO.File.ReadAllText(Path.Combine(report, "report.json"))).RootElement.GetProperty("history")[0];
        Assert.True(history.TryGetProperty("test_loss", out _));
        Assert.True(history.TryGetProperty("test_accuracy", out _));
        Assert.False(history.TryGetProperty("val_loss", out _));
        var html = System.IO.File.ReadAllText(Path.Combine(report, "index.html"));
        Assert.Contains("class=\"legend\">test</text>", html);
        Assert.DoesNotContain("class=\"legend\">validation</text>", html);

        var valReport = Path.Combine(dir, "rep-val");
        var (_, valOut, _) = Run("train", "--epochs", "2", "--val-split", "0.2", "--save", Path.Combine(dir, "b.safetensors"), "--report", valReport);
        Assert.Matches(@"(?m)^epoch 1/2  loss \d\.\d{4}  acc \d\.\d{4}  val_loss \d\.\d{4}  val_acc \d\.\d{4}  ", valOut);
        var valHistory = JsonDocument.Parse(System.IO.File.ReadAllText(Path.Combine(valReport, "report.json"))).RootElement.GetProperty("history")[0];
        Assert.True(valHistory.TryGetProperty("val_loss", out _));
        Assert.False(valHistory.TryGetProperty("test_loss", out _));
        Assert.Contains("class=\"legend\">validation</text>", System.IO.File.ReadAllText(Path.Combine(valReport, "index.html")));
    }

    [Fact]
    public void ACsvWithOnlyTheTargetColumnHasNoFeatureColumns()
    {
        var csv = File("target_only.csv", "label\n1\n2\n1\n");
        var (code, _, stderr) = Run("train", "--data", csv, "--target", "label", "--save", Path.Combine(dir, "x.safetensors"));
        Assert.Equal(1, code);
        Assert.Equal($"backprop train: error: '{csv}' has no feature columns: its only column is the target 'label'; a model needs at least one " +
                     "input column beside it.\n", stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void AOneClassTargetIsRefusedBeforeTraining()
    {
        var csv = File("oneclass.csv", "a,b,label\n1,2,x\n3,4,x\n5,6,x\n7,8,x\n");
        var (code, stdout, stderr) = Run("train", "--data", csv, "--target", "label", "--save", Path.Combine(dir, "x.safetensors"));
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal("backprop train: error: only one class ('x') in the target column 'label'; classification needs at least two " +
                     "(or use --task regress for a numeric target).\n", stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void AnUnknownDatasetListsTheImageDatasetsToo()
    {
        var (code, _, stderr) = Run("train", "--dataset", "cifar");
        Assert.Equal(1, code);
        Assert.Equal("backprop train: error: unknown dataset 'cifar'; expected one of: iris, xor, and, or, spirals, circles, moons, fashion-mnist, " +
                     "mnist (with --data-dir).\n", stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void TheParameterSuffixOfArgumentExceptionsIsNotPrinted()
    {
        Assert.Equal("momentum must be small.", Backprop.Cli.UserMessage.Of(new ArgumentOutOfRangeException("momentum", 5f, "momentum must be small.")));
        Assert.Equal("no such dataset.", Backprop.Cli.UserMessage.Of(new ArgumentException("no such dataset.", "name")));
        Assert.Equal("plain.", Backprop.Cli.UserMessage.Of(new InvalidOperationException("plain.")));
    }

    // Placeholders: {dir} is this test's folder; the files are written by WriteFixtures.
    [Theory]
    [InlineData("train --dataset cifar")]
    [InlineData("train --data {dir}/target_only.csv --target label")]
    [InlineData("train --data {dir}/oneclass.csv --target label")]
    [InlineData("train --data {dir}/missing.csv --target label")]
    [InlineData("train --data {dir} --target label")]
    [InlineData("train --data {dir}/iris.csv --target nope")]
    [InlineData("train --batch 1000000000 --epochs 1 --save {dir}/b.safetensors")]
    [InlineData("train --batch 2147483647 --epochs 1 --engine graph --save {dir}/b.safetensors")]
    [InlineData("train --optimizer sgd --momentum 5")]
    [InlineData("train --lr NaN")]
    [InlineData("train --lr 1e39")]
    [InlineData("train --lr 0")]
    [InlineData("train --weight-decay -1")]
    [InlineData("train --model dense(16)-dropout(1.5)-dense(3) --epochs 1")]
    [InlineData("train --model dense(-3) --epochs 1")]
    [InlineData("train --model dense(2) --epochs 1")]
    [InlineData("train --loss bce")]
    [InlineData("train --limit 1 --val-split 0.5 --epochs 1")]
    [InlineData("train --schedule step:0")]
    [InlineData("train --epochs 2 --checkpoint {dir}/ck --resume")]
    [InlineData("evaluate --model {dir}/missing.safetensors")]
    [InlineData("evaluate --model {dir}/iris.csv")]
    [InlineData("evaluate --model {dir}/model.safetensors --data {dir}/target_only.csv --target label")]
    [InlineData("evaluate --model {dir}/model.safetensors --data {dir}/oneclass.csv --target label")]
    [InlineData("evaluate --model {dir}/badstd.safetensors")]
    [InlineData("predict --model {dir}/model.safetensors --data {dir}/oneclass.csv")]
    [InlineData("summary --model dense(0) --input 4")]
    [InlineData("summary --model conv(4,3) --input 1x2x2")]
    [InlineData("grad x^ x=1")]
    [InlineData("grad log(x) x=-1")]
    public void NoBadCommandLinePrintsDotNetWording(string line)
    {
        WriteFixtures();
        var args = line.Split(' ').Select(a => a.Replace("{dir}", dir, StringComparison.Ordinal)).ToArray();
        var (code, stdout, stderr) = Run(args);
        var output = stdout + stderr;
        Assert.InRange(code, 0, 2);
        foreach (var leak in new[] { "(Parameter '", "Exception", " at Backprop.", "Actual value was", "Arithmetic operation", "Value cannot be null",
                     "Index was outside", "Object reference", "System." })
            Assert.DoesNotContain(leak, output);
    }

    private void WriteFixtures()
    {
        File("target_only.csv", "label\n1\n2\n1\n");
        File("oneclass.csv", "sepal_length,sepal_width,petal_length,petal_width,label\n1,2,3,4,x\n3,4,5,6,x\n");
        CsvDataset.Save(Path.Combine(dir, "iris.csv"), Datasets.Iris(), "species");
        var model = Backprop.Nn.Mlp.Create(4, [4], 3, "tanh", null, new Rng(1));
        model.Save(Path.Combine(dir, "model.safetensors"), new ModelInfo
        {
            FeatureNames = ["sepal_length", "sepal_width", "petal_length", "petal_width"], ClassNames = ["setosa", "versicolor", "virginica"], Dataset = "iris",
        });
        // Four input means but three standard deviations.
        model.Save(Path.Combine(dir, "badstd.safetensors"), new ModelInfo
        {
            FeatureNames = ["sepal_length", "sepal_width", "petal_length", "petal_width"], ClassNames = ["setosa", "versicolor", "virginica"], Dataset = "iris",
            InputMean = [0, 0, 0, 0], InputStd = [1, 1, 1],
        });
    }

    [Fact]
    public void AnMlpWithAColonButNoSizesIsRefusedNotTrainedAsALinearModel()
    {
        var (code, _, stderr) = Run("train", "--model", "mlp:", "--save", Path.Combine(dir, "m.safetensors"));
        Assert.Equal(1, code);
        Assert.Equal("backprop train: error: model 'mlp:' has no hidden sizes after the colon; write e.g. mlp:64,32, or 'mlp' alone for a linear model.\n",
            stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void AValidationSplitOfATinySetSaysItTrainsOnAllRows()
    {
        var (code, _, stderr) = Run("train", "--dataset", "xor", "--val-split", "0.5", "--save", Path.Combine(dir, "m.safetensors"));
        Assert.Equal(2, code);
        Assert.StartsWith("backprop train: --val-split needs rows held out for validation, but a set of under 25 rows trains and is scored on all of them; give --test-split to split it anyway.\n",
            stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void AModelFileWithAMalformedShapeIsNamedWithoutDotNetWording()
    {
        var header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"two\"],\"data_offsets\":[0,8]}}";
        var bytes = new List<byte>(BitConverter.GetBytes((ulong)header.Length));
        bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(header));
        bytes.AddRange(new byte[8]);
        var path = Path.Combine(dir, "bad.safetensors");
        System.IO.File.WriteAllBytes(path, [.. bytes]);
        var (code, _, stderr) = Run("evaluate", "--model", path);
        Assert.NotEqual(0, code);
        Assert.Contains($"{path}: entry 'w' is malformed: a tensor entry needs \"dtype\" (a string), \"shape\" (a list of whole numbers) and \"data_offsets\" (two byte offsets).", stderr);
        Assert.DoesNotContain("System.", stderr);
    }
}
