using System.Text.Json;
using Backprop.Cli;

namespace Backprop.Tests.Cli;

/// <summary>Runs the backprop command in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Run(string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Backprop.Cli.Cli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}

/// <summary>The backprop command, run in-process as a user would run it.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-cli-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void DefaultTrainReachesAtLeast93PercentOnIrisAndSaves()
    {
        var model = Path.Combine(dir, "iris.safetensors");
        var (code, stdout, stderr) = Run("train", "--save", model, "--json");
        Assert.Equal(0, code);
        var result = JsonDocument.Parse(stdout).RootElement;
        Assert.True(result.GetProperty("test_accuracy").GetDouble() >= 0.93, stdout);
        // Without --epochs the run ends by early stopping (at most 500 epochs; DefaultsTests pins the rule).
        int epochs = result.GetProperty("epochs").GetInt32();
        Assert.True(result.GetProperty("stopped_early").GetBoolean(), stdout);
        Assert.InRange(epochs, 11, 499);
        Assert.True(result.GetProperty("test_loss").GetDouble() < 0.2);
        Assert.True(result.GetProperty("train_seconds").GetDouble() > 0);
        Assert.Contains($"epoch {epochs}/500", stderr);
        Assert.True(File.Exists(model));

        var (evalCode, evalOut, _) = Run("evaluate", "--model", model, "--json");
        Assert.Equal(0, evalCode);
        Assert.True(JsonDocument.Parse(evalOut).RootElement.GetProperty("accuracy").GetDouble() >= 0.93);
    }

    [Fact]
    public void VersionPrintsTheToolsVersion()
    {
        var (code, stdout, stderr) = Run("--version");
        Assert.Equal(0, code);
        Assert.Equal($"backprop 0.1.0{Environment.NewLine}", stdout);
        Assert.Empty(stderr);
    }

    [Fact]
    public void PredictWritesACsvOfClassesAndProbabilities()
    {
        var model = Path.Combine(dir, "iris.safetensors");
        Assert.Equal(0, Run("train", "--save", model, "--epochs", "60").Code);
        var input = Path.Combine(dir, "new.csv");
        File.WriteAllText(input, "petal_width,sepal_length,sepal_width,petal_length,note\n0.2,5.1,3.5,1.4,a\n2.5,6.3,3.3,6.0,b\n");
        var output = Path.Combine(dir, "out.csv");
        var (code, _, stderr) = Run("predict", "--model", model, "--data", input, "--output", output);
        Assert.Equal(0, code);
        Assert.Contains("wrote 2 predictions", stderr);
        var lines = File.ReadAllLines(output);
        Assert.Equal("sepal_length,sepal_width,petal_length,petal_width,prediction,p_setosa,p_versicolor,p_virginica", lines[0]);
        Assert.StartsWith("5.1,3.5,1.4,0.2,setosa,", lines[1]);
        Assert.StartsWith("6.3,3.3,6,2.5,virginica,", lines[2]);
        var probabilities = lines[1].Split(',')[5..].Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(1.0, probabilities.Sum(), 4);
    }

    [Fact]
    public void TrainsOnACsvFileWithATargetColumn()
    {
        var csv = Path.Combine(dir, "moons.csv");
        Backprop.Data.CsvDataset.Save(csv, Backprop.Data.Datasets.Moons(200, seed: 3), "label");
        var (code, stdout, _) = Run("train", "--data", csv, "--target", "label", "--model", "mlp:16,16", "--epochs", "150",
            "--save", Path.Combine(dir, "moons.safetensors"), "--json");
        Assert.Equal(0, code);
        Assert.True(JsonDocument.Parse(stdout).RootElement.GetProperty("test_accuracy").GetDouble() >= 0.9, stdout);
    }

    [Theory]
    [InlineData("train --epochs x", "--epochs expects a whole number but got 'x'")]
    [InlineData("train --bogus", "unknown option '--bogus'")]
    [InlineData("train --lr", "option --lr needs a value")]
    [InlineData("train --dataset nope", "dataset 'nope'")]
    [InlineData("train --model mlp:8,zero", "hidden size 'zero' is not a positive whole number")]
    [InlineData("train --loss hinge", "unknown loss 'hinge'")]
    [InlineData("train --data x.csv", "--data needs --target COLUMN")]
    [InlineData("frobnicate", "unknown command 'frobnicate'")]
    public void WrongArgumentsGetOneLineErrorAndNoStackTrace(string commandLine, string expected)
    {
        var (code, stdout, stderr) = Run(commandLine.Split(' '));
        Assert.NotEqual(0, code);
        Assert.Contains(expected, stderr);
        Assert.DoesNotContain("   at ", stderr + stdout);
    }

    [Fact]
    public void AUsageErrorOfTrainIsNotBuriedUnderItsLongUsage()
    {
        var (code, _, stderr) = Run("train", "--data", "x.csv");
        Assert.Equal(2, code);
        Assert.Equal(
            "backprop train: --data needs --target COLUMN (the column to predict).\n" +
            "usage: backprop train [options]\n" +
            "Run 'backprop train --help' for its options.\n",
            stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void MissingAndTruncatedModelFilesGetClearErrors()
    {
        var (code, _, stderr) = Run("evaluate", "--model", Path.Combine(dir, "none.safetensors"));
        Assert.Equal(1, code);
        Assert.Contains("does not exist", stderr);

        var truncated = Path.Combine(dir, "cut.safetensors");
        File.WriteAllBytes(truncated, [1, 2, 3]);
        (code, _, stderr) = Run("predict", "--model", truncated, "--data", "x.csv");
        Assert.Equal(1, code);
        Assert.Contains("too short", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void BadCsvRowIsReportedWithFileLineAndColumn()
    {
        var csv = Path.Combine(dir, "bad.csv");
        File.WriteAllText(csv, "a,b,label\n1,2,x\n3,oops,y\n");
        var (code, _, stderr) = Run("train", "--data", csv, "--target", "label");
        Assert.Equal(1, code);
        Assert.Contains("line 3, column 'b': 'oops' is not a number", stderr);
    }
}

/// <summary>The glass-box commands: explain, grad, gradcheck.</summary>
public sealed class ExplainCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void ExplainJsonHoldsEverySeedMatrixWithinAHundredth()
    {
        var (code, stdout, _) = Run("explain", "--json");
        Assert.Equal(0, code);
        var json = JsonDocument.Parse(stdout).RootElement;
        var seed = new Dictionary<string, double[][]>
        {
            ["H_in"] = [[1.47, 1.42], [3.42, 0.91], [3.62, 0.47]],
            ["H_out"] = [[0.81, 0.81], [0.97, 0.71], [0.97, 0.62]],
            ["O_in"] = [[0.49, -0.49, 0.57], [0.43, -0.45, 0.55], [0.37, -0.41, 0.50]],
            ["O_out"] = [[0.62, 0.38, 0.64], [0.61, 0.39, 0.63], [0.59, 0.40, 0.62]],
            ["O_error"] = [[-0.38, 0.38, 0.64], [0.61, -0.61, 0.63], [0.59, 0.40, -0.38]],
            ["O_delta"] = [[-0.09, 0.09, 0.15], [0.15, -0.15, 0.15], [0.14, 0.10, -0.09]],
            ["W2_update"] = [[0.023, 0.003, 0.020], [0.013, 0.003, 0.019]],
            ["H_error"] = [[0.021, -0.024], [0.045, 0.240], [-0.028, -0.011]],
            ["H_delta"] = [[0.003, -0.004], [0.001, 0.049], [-0.001, -0.003]],
            ["W1_update"] = [[0.002, 0.031], [0.001, 0.015], [0.000, 0.022], [0.000, 0.007]],
        };
        foreach (var (name, expected) in seed)
        {
            var rows = json.GetProperty(name).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
            Assert.Equal(expected.Length, rows.Length);
            for (int i = 0; i < rows.Length; i++)
                for (int j = 0; j < rows[i].Length; j++)
                    Assert.True(Math.Abs(rows[i][j] - expected[i][j]) <= 0.01, $"{name}[{i},{j}] = {rows[i][j]}, seed {expected[i][j]}");
        }
    }

    [Fact]
    public void ExplainTextUsesTheSeedsNames()
    {
        var (code, stdout, _) = Run("explain");
        Assert.Equal(0, code);
        foreach (var name in new[] { "H_in", "H_out", "O_in", "O_out", "O_error", "O_delta", "W2_update", "H_error", "H_delta", "W1_update" })
            Assert.Contains(name + " ", stdout);
        Assert.Contains("[[1.470 1.420]", stdout);
    }

    [Fact]
    public void ExplainsOneStepOfASavedModel()
    {
        var dir = Directory.CreateTempSubdirectory("backprop-explain-").FullName;
        try
        {
            var model = Path.Combine(dir, "iris.safetensors");
            Assert.Equal(0, Run("train", "--model", "mlp:4", "--activation", "sigmoid", "--epochs", "5", "--save", model).Code);
            var (code, stdout, stderr) = Run("explain", "--model", model, "--rows", "2", "--json");
            Assert.True(code == 0, stderr);
            var json = JsonDocument.Parse(stdout).RootElement;
            Assert.Equal(2, json.GetProperty("H_out").GetArrayLength());
            Assert.Equal(4, json.GetProperty("H_out")[0].GetArrayLength());
            Assert.Equal(3, json.GetProperty("O_delta")[0].GetArrayLength());
            Assert.Equal(4, json.GetProperty("W1_update").GetArrayLength());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void GradPrintsValueAndPartialsOfTheSeedCircuit()
    {
        var (code, stdout, _) = Run("grad", "(x+y)*z", "x=-2", "y=5", "z=-4", "--json");
        Assert.Equal(0, code);
        Assert.Equal("{\"value\":-12,\"gradients\":{\"x\":-4,\"y\":-4,\"z\":3}}", stdout.Trim());

        var (_, text, _) = Run("grad", "(x+y)*z", "x=-2", "y=5", "z=-4");
        Assert.Contains("∂f/∂z = 3", text);

        var (_, dot, _) = Run("grad", "(x+y)*z", "x=-2", "y=5", "z=-4", "--dot");
        Assert.StartsWith("digraph", dot);
        Assert.Contains("grad 3.0000", dot);
    }

    [Fact]
    public void GradReportsParseErrorsWithACaret()
    {
        var (code, _, stderr) = Run("grad", "(x+y))*z", "x=1", "y=2", "z=3");
        Assert.Equal(1, code);
        Assert.Contains("unexpected ')' at position 6", stderr);
        Assert.Contains("     ^", stderr);
        Assert.Equal(2, Run("grad").Code);
    }

    [Fact]
    public void GradcheckPassesEveryOp()
    {
        var (code, stdout, _) = Run("gradcheck", "--json");
        Assert.Equal(0, code);
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(0, json.GetProperty("failed").GetInt32());
        Assert.True(json.GetProperty("checks").GetInt32() >= 60);
        Assert.True(json.GetProperty("ops").GetProperty("matmul [3,4]·[4,5]").GetProperty("passed").GetBoolean());
    }
}
