using System.Globalization;
using System.Text.Json;
using Backprop.Data;
using Backprop.IO;

namespace Backprop.Tests.Cli;

/// <summary>
/// <c>backprop train</c> with nothing but the data: the defaults (Adam 1e-3, ReLU, mlp:100, batch 32, early stopping),
/// tiny data on all rows, preprocessing chosen by the data, regression in the target's units, and --test-data.
/// </summary>
public sealed class DefaultsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-defaults-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string P(string name) => Path.Combine(dir, name);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static JsonElement Json(string stdout) => JsonDocument.Parse(stdout).RootElement;

    public static TheoryData<string> ToySets() => [.. Datasets.Names];

    [Theory]
    [MemberData(nameof(ToySets))]
    public void EveryBuiltInToySetReachesAtLeast95PercentWithNoOptionBeyondTheDataset(string name)
    {
        var (code, stdout, stderr) = Run("train", "--dataset", name, "--save", P(name + ".safetensors"), "--json");
        Assert.Equal(0, code);
        var result = Json(stdout);
        Assert.True(result.GetProperty("test_accuracy").GetDouble() >= 0.95, $"{name}: {stdout}\n{stderr}");
        Assert.Equal("features standardized per column with train statistics", result.GetProperty("preprocessing").GetString());
    }

    [Theory]
    [InlineData("xor")]
    [InlineData("and")]
    [InlineData("or")]
    public void LogicGatesTrainAndScoreOnAllFourRowsForAFixedLengthAndSaySo(string gate)
    {
        var (code, stdout, stderr) = Run("train", "--dataset", gate, "--save", P("gate.safetensors"), "--json");
        Assert.Equal(0, code);
        var result = Json(stdout);
        Assert.True(result.GetProperty("all_rows").GetBoolean());
        Assert.Equal(4, result.GetProperty("train_rows").GetInt32());
        Assert.Equal(4, result.GetProperty("test_rows").GetInt32());
        Assert.Equal(0, result.GetProperty("validation_rows").GetInt32());
        Assert.Equal(1000, result.GetProperty("epochs").GetInt32());
        Assert.Equal(1.0, result.GetProperty("test_accuracy").GetDouble());
        Assert.Contains($"data    {gate}: 4 examples, 2 features, 2 classes; train and test on all 4 rows (under 25: too few to hold out a test set)", stderr);
        Assert.Contains("batch 32, 1000 epochs (fixed: too few rows to hold out validation), seed 1", stderr);
        Assert.Contains("accuracy 1.0000 (4/4) (the training rows)", stderr);
    }

    [Fact]
    public void AnExplicitTestSplitStillHoldsOutRowsOfTinyData()
    {
        var (code, stdout, _) = Run("train", "--dataset", "xor", "--test-split", "0.25", "--epochs", "3", "--save", P("x.safetensors"), "--json");
        Assert.Equal(0, code);
        Assert.False(Json(stdout).GetProperty("all_rows").GetBoolean());
        Assert.Equal(1, Json(stdout).GetProperty("test_rows").GetInt32());
    }

    [Fact]
    public void WithoutEpochsEarlyStoppingOnAValidationSplitIsTheDefaultAndRestoresTheBestWeights()
    {
        var (code, stdout, stderr) = Run("train", "--save", P("iris.safetensors"), "--json");
        Assert.Equal(0, code);
        var result = Json(stdout);
        int epochs = result.GetProperty("epochs").GetInt32();
        Assert.True(epochs < 500, stdout);
        Assert.True(result.GetProperty("stopped_early").GetBoolean());
        Assert.Equal(12, result.GetProperty("validation_rows").GetInt32());   // 0.1 of the 120 training rows
        Assert.Equal(108, result.GetProperty("train_rows").GetInt32());
        Assert.Contains("data    iris: 150 examples, 4 features, 3 classes; train 108 / validation 12 / test 30 rows", stderr);
        Assert.Contains("train   adam lr 0.0010, cross_entropy, batch 32, up to 500 epochs, early stopping after 10 without a better validation loss (best weights restored), seed 1", stderr);
        Assert.Contains($"stopped early after epoch {epochs}; restored the weights of epoch {epochs - 10}", stderr);
        Assert.Contains("model   Sequential(Dense(4→100) → ReLU → Dense(100→3)), 803 parameters", stderr);
    }

    [Fact]
    public void AnExplicitEpochCountTrainsExactlyThatLongWithoutValidation()
    {
        var (code, stdout, stderr) = Run("train", "--epochs", "7", "--save", P("iris.safetensors"), "--json");
        Assert.Equal(0, code);
        var result = Json(stdout);
        Assert.Equal(7, result.GetProperty("epochs").GetInt32());
        Assert.Equal(0, result.GetProperty("validation_rows").GetInt32());
        Assert.False(result.GetProperty("stopped_early").GetBoolean());
        Assert.Contains("train   adam lr 0.0010 cosine(T=7, min=0), cross_entropy, batch 32, 7 epochs, seed 1", stderr);
    }

    [Fact]
    public void ImagesAreNormalizedWithOneMeanAndStdOverAllTrainPixelsAndTheModelKeepsThem()
    {
        var rng = new Random(5);
        byte[] Pixels(int n) { var b = new byte[n * 9]; rng.NextBytes(b); return b; }
        var trainPixels = Pixels(40);
        WriteIdx("train-images-idx3-ubyte.gz", [40, 3, 3], trainPixels);
        WriteIdx("train-labels-idx1-ubyte.gz", [40], [.. Enumerable.Range(0, 40).Select(i => (byte)(i % 2))]);
        WriteIdx("t10k-images-idx3-ubyte.gz", [10, 3, 3], Pixels(10));
        WriteIdx("t10k-labels-idx1-ubyte.gz", [10], [.. Enumerable.Range(0, 10).Select(i => (byte)(i % 2))]);
        // The scaling is fitted on the train images' pixels, as the loader gives them (byte / 255).
        var x = trainPixels.Select(b => b / 255.0).ToArray();
        double mean = x.Average(), std = Math.Sqrt(x.Average(v => (v - mean) * (v - mean)));

        var model = P("img.safetensors");
        var (code, stdout, stderr) = Run("train", "--dataset", "mnist", "--data-dir", dir, "--epochs", "2", "--save", model, "--json");
        Assert.Equal(0, code);
        string expected = string.Create(CultureInfo.InvariantCulture, $"images normalized with one mean {mean:0.0000} and std {std:0.0000} over all train pixels");
        Assert.Contains(expected, stderr);
        Assert.Equal(expected, Json(stdout).GetProperty("preprocessing").GetString());
        var (_, info) = ModelFile.Load(model);
        Assert.Equal(9, info.InputMean!.Length);
        Assert.All(info.InputMean, m => Assert.Equal(mean, m, 1e-5));
        Assert.All(info.InputStd!, s => Assert.Equal(std, s, 1e-5));

        // evaluate applies the saved scaling to the raw test images: the same loss as train's test line.
        var (evalCode, evalOut, _) = Run("evaluate", "--model", model, "--dataset", "mnist", "--data-dir", dir, "--json");
        Assert.Equal(0, evalCode);
        Assert.Equal(Json(stdout).GetProperty("test_loss").GetDouble(), Json(evalOut).GetProperty("loss").GetDouble(), 5);
    }

    private void WriteIdx(string name, int[] shape, byte[] data) => GzippedIdx.Write(P(name), shape, data);

    // y = 40·x0 − 25·x1 + 500 + N(0, 5²): a target far from 0 and 1, so scores in standardized units would show.
    private static (double[][] X, double[] Y) Linear(int n, int seed)
    {
        var rng = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var xs = new double[n][];
        var ys = new double[n];
        for (int i = 0; i < n; i++)
        {
            xs[i] = [Normal(), Normal(), Normal()];
            ys[i] = 40 * xs[i][0] - 25 * xs[i][1] + 500 + 5 * Normal();
        }
        return (xs, ys);
    }

    private string WriteCsv(string name, double[][] x, double[] y)
    {
        var lines = new List<string> { "a,b,c,y" };
        lines.AddRange(x.Select((r, i) => string.Join(',', r.Append(y[i]).Select(v => v.ToString("R", CultureInfo.InvariantCulture)))));
        File.WriteAllLines(P(name), lines);
        return P(name);
    }

    [Fact]
    public void RegressionTrainsOnStandardizedTargetsAndReportsRmseMaeAndR2InTheTargetsUnits()
    {
        var (xTrain, yTrain) = Linear(400, 1);
        var (xTest, yTest) = Linear(100, 2);
        string train = WriteCsv("train.csv", xTrain, yTrain), test = WriteCsv("test.csv", xTest, yTest);
        var model = P("linear.safetensors");
        // --epochs: no validation rows, so the target statistics are those of all 400 training rows.
        var (code, stdout, stderr) = Run("train", "--data", train, "--test-data", test, "--target", "y", "--epochs", "100", "--save", model, "--json");
        Assert.Equal(0, code);
        var result = Json(stdout);
        double loss = result.GetProperty("test_loss").GetDouble(), rmse = result.GetProperty("test_rmse").GetDouble();
        double mae = result.GetProperty("test_mae").GetDouble(), r2 = result.GetProperty("test_r2").GetDouble();
        Assert.True(r2 > 0.97, stdout);
        Assert.True(rmse is > 4 and < 10, stdout);   // the noise has σ = 5; the targets' own σ is about 47
        // The loss is the MSE of standardized targets: times σ² of the training targets it is the MSE in y's units.
        double m = yTrain.Average(), variance = yTrain.Average(v => (v - m) * (v - m));
        Assert.Equal(rmse * rmse, loss * variance, rmse * rmse * 1e-3);
        Assert.Contains("targets standardized with train statistics (results in their own units)", stderr);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"  rmse {rmse:0.0000}  mae {mae:0.0000}  r2 {r2:0.0000}"), stderr);

        var (_, info) = ModelFile.Load(model);
        Assert.Equal(m, info.TargetMean![0], 1e-3);
        Assert.Equal(Math.Sqrt(variance), info.TargetStd![0], 1e-3);

        // predict prints values in y's units: their mean absolute error is the reported MAE.
        var (predictCode, csv, _) = Run("predict", "--model", model, "--data", test);
        Assert.Equal(0, predictCode);
        var predicted = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1..]
            .Select(l => double.Parse(l.Split(',')[^1], CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(100, predicted.Length);
        Assert.Equal(mae, predicted.Select((p, i) => Math.Abs(p - yTest[i])).Average(), 1e-3);

        // evaluate on the same rows gives the same scores.
        var (evalCode, evalOut, _) = Run("evaluate", "--model", model, "--data", test, "--target", "y", "--json");
        Assert.Equal(0, evalCode);
        var evaluation = Json(evalOut);
        Assert.Equal(loss, evaluation.GetProperty("loss").GetDouble(), 5);
        Assert.Equal(rmse, evaluation.GetProperty("rmse").GetDouble(), 4);
        Assert.Equal(r2, evaluation.GetProperty("r2").GetDouble(), 5);
    }

    [Fact]
    public void ARegressionModelFileWithoutTargetStatisticsStillPredictsItsRawOutputs()
    {
        var (x, y) = Linear(60, 3);
        var data = WriteCsv("data.csv", x, y);
        var model = P("old.safetensors");
        Assert.Equal(0, Run("train", "--data", data, "--target", "y", "--epochs", "2", "--save", model).Code);
        var (module, info) = ModelFile.Load(model);
        // As files written before targets were standardized: no target_mean / target_std in the metadata.
        module.Save(model, info with { TargetMean = null, TargetStd = null });
        var (_, reloaded) = ModelFile.Load(model);
        Assert.Null(reloaded.TargetMean);

        var (code, csv, _) = Run("predict", "--model", model, "--data", data);
        Assert.Equal(0, code);
        var first = double.Parse(csv.Split('\n')[1].Split(',')[^1], CultureInfo.InvariantCulture);
        var features = new Standardizer(info.InputMean!, info.InputStd!).Transform(Tensor.FromArray([.. x[0].Select(v => (float)v)], 1, 3));
        Assert.Equal(Backprop.Training.Trainer.Predict(module, features).ToArray()[0], first, 4);
    }

    [Fact]
    public void TestDataScoresTheGivenRowsAndRenumbersTheirClassesByName()
    {
        File.WriteAllText(P("train.csv"), "u,v,label\n" + string.Concat(Enumerable.Range(0, 60).Select(i =>
            string.Create(CultureInfo.InvariantCulture, $"{i % 3}.0,{(i * 7) % 5}.0,{new[] { "ant", "bee", "cat" }[i % 3]}\n"))));
        // Only "cat" rows: in a file of its own, "cat" would be class 0, but it is class 2 of the training data.
        File.WriteAllText(P("test.csv"), "u,v,label\n2.0,1.0,cat\n2.0,3.0,cat\n");
        var (code, stdout, stderr) = Run("train", "--data", P("train.csv"), "--test-data", P("test.csv"), "--target", "label",
            "--epochs", "300", "--save", P("m.safetensors"), "--json");
        Assert.Equal(0, code);
        Assert.Equal(2, Json(stdout).GetProperty("test_rows").GetInt32());
        Assert.Equal(1.0, Json(stdout).GetProperty("test_accuracy").GetDouble());
        Assert.Contains("train 60 / test 2 rows", stderr);
    }

    [Theory]
    [InlineData(new[] { "--test-data", "t.csv" }, "backprop train: --test-data goes with --data FILE.csv (the training rows).")]
    [InlineData(new[] { "--data", "TRAIN", "--target", "label", "--test-data", "TEST", "--test-split", "0.3" }, "backprop train: give either --test-data or --test-split, not both.")]
    public void TestDataMistakesGetOneLineUsageErrors(string[] args, string expected)
    {
        File.WriteAllText(P("a.csv"), "u,label\n1,0\n2,1\n");
        var (code, _, stderr) = Run(["train", .. args.Select(a => a == "TRAIN" || a == "TEST" ? P("a.csv") : a)]);
        Assert.Equal(2, code);
        Assert.StartsWith(expected + "\n", stderr);
    }

    [Fact]
    public void TestDataWithOtherColumnsOrAnUnknownClassIsRefused()
    {
        File.WriteAllText(P("train.csv"), "u,v,label\n1,2,a\n2,1,b\n3,3,a\n");
        File.WriteAllText(P("cols.csv"), "v,u,label\n1,2,a\n");
        File.WriteAllText(P("class.csv"), "u,v,label\n1,2,a\n5,5,z\n");
        var (code, _, stderr) = Run("train", "--data", P("train.csv"), "--test-data", P("cols.csv"), "--target", "label", "--epochs", "1");
        Assert.Equal(1, code);
        Assert.Equal($"backprop train: error: {P("cols.csv")} has the feature columns (v, u) but the training data has (u, v); they must match in name and order.\n", stderr);
        (code, _, stderr) = Run("train", "--data", P("train.csv"), "--test-data", P("class.csv"), "--target", "label", "--epochs", "1");
        Assert.Equal(1, code);
        Assert.Equal($"backprop train: error: {P("class.csv")}: row 2 has the class 'z', which the training data does not hold (its classes: a, b).\n", stderr);
    }
}
