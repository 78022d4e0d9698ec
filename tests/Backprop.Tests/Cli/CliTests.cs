using System.Text.Json;
using Backprop.Cli;

namespace Backprop.Tests.Cli;

/// <summary>The backprop command, run in-process as a user would run it.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-cli-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Backprop.Cli.Cli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void DefaultTrainReachesAtLeast93PercentOnIrisAndSaves()
    {
        var model = Path.Combine(dir, "iris.safetensors");
        var (code, stdout, stderr) = Run("train", "--save", model, "--json");
        Assert.Equal(0, code);
        var result = JsonDocument.Parse(stdout).RootElement;
        Assert.True(result.GetProperty("test_accuracy").GetDouble() >= 0.93, stdout);
        Assert.Equal(100, result.GetProperty("epochs").GetInt32());
        Assert.True(result.GetProperty("test_loss").GetDouble() < 0.2);
        Assert.True(result.GetProperty("train_seconds").GetDouble() > 0);
        Assert.Contains("epoch 100/100", stderr);
        Assert.True(File.Exists(model));

        var (evalCode, evalOut, _) = Run("evaluate", "--model", model, "--json");
        Assert.Equal(0, evalCode);
        Assert.True(JsonDocument.Parse(evalOut).RootElement.GetProperty("accuracy").GetDouble() >= 0.93);
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
