using Backprop.Nn;
using System.Globalization;
using System.Text.Json;

namespace Backprop.Tests.Cli;

/// <summary><c>backprop summary</c> and <c>backprop train --model SPEC</c>, run in-process.</summary>
public sealed class ModelLanguageCliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-lang-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void SummaryOfASpecPrintsEachLayerAndTheTotals()
    {
        var (code, stdout, _) = Run("summary", "--model", "dense(8)-tanh-dense(3)", "--input", "4");
        Assert.Equal(0, code);
        // The command prints the library's summary table (whose exact text ModelLanguageTests pins).
        Assert.Equal(ModelSummary.Of(ModelLanguage.Build("dense(8)-tanh-dense(3)", [4]), [4]).ToString(), stdout);
    }

    [Fact]
    public void SummaryTakesAnImageShapeAndTheDatasetShape()
    {
        var (code, stdout, _) = Run("summary", "--model", "reshape(784)-dense(100)-relu-dense(10)", "--input", "1x28x28");
        Assert.Equal(0, code);
        Assert.Contains(" 1  Dense(784→100)  [N, 100]  78,500  156,900\n", stdout);
        Assert.Contains("79,510 parameters; 0.159 MFLOPs per example", stdout);

        var (irisCode, irisOut, _) = Run("summary", "--model", "dense(5)", "--dataset", "iris");
        Assert.Equal(0, irisCode);
        Assert.Contains(" 0  Dense(4→5)  [N, 5]      25", irisOut);
    }

    [Theory]
    [InlineData("--input", "1x0", "backprop summary: --input expects a shape like 784 or 1x28x28 (positive sizes joined by 'x') but got '1x0'.")]
    [InlineData("--input", "28by28", "backprop summary: --input expects a shape like 784 or 1x28x28 (positive sizes joined by 'x') but got '28by28'.")]
    [InlineData("--seed", "1", "backprop summary: unknown option '--seed'.")]
    public void SummaryRejectsBadOptionsWithUsage(string option, string value, string firstLine)
    {
        var (code, _, stderr) = Run("summary", "--model", "dense(3)", option, value);
        Assert.Equal(2, code);
        Assert.Equal(firstLine, stderr.Split('\n')[0]);
        Assert.Contains("usage: backprop summary", stderr);
    }

    [Fact]
    public void SummaryOfASpecNeedsAnInputShapeAndRejectsTheMlpShorthand()
    {
        var (code, _, stderr) = Run("summary", "--model", "dense(3)");
        Assert.Equal(2, code);
        Assert.StartsWith("backprop summary: a model spec needs --input SHAPE (e.g. 784 or 1x28x28) or --dataset NAME to know the input size.\n", stderr);

        (code, _, stderr) = Run("summary", "--model", "mlp:64,32", "--input", "4");
        Assert.Equal(2, code);
        Assert.StartsWith("backprop summary: summary reads the model language; write mlp:64,32 as dense(64)-tanh-dense(32)-tanh-dense(C), with C the number of outputs.\n", stderr);
    }

    [Fact]
    public void AWrongSpecIsAOneLineErrorWithCarets()
    {
        var (code, stdout, stderr) = Run("summary", "--model", "dense(8)-rleu-dense(3)", "--input", "4");
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal(
            "backprop summary: error: model spec: unknown layer 'rleu' (column 10); did you mean relu? known layers: dense, relu, tanh, sigmoid, leaky_relu, softmax, log_softmax, identity, reshape, conv, maxpool, avgpool, flatten, dropout, batchnorm, embedding, layernorm, rmsnorm, rnn, lstm, gru, attention, gelu, gelu_tanh, silu, conv1d, convtranspose, upsample, globalavgpool\n" +
            "  dense(8)-rleu-dense(3)\n" +
            "           ^^^^\n", stderr);
    }

    [Fact]
    public void TrainsIrisFromASpecAndSummarisesTheSavedModel()
    {
        var model = Path.Combine(dir, "iris.safetensors");
        var (code, stdout, _) = Run("train", "--model", "dense(8)-tanh-dense(3)", "--epochs", "60", "--lr", "0.01", "--save", model, "--json");
        Assert.Equal(0, code);
        var result = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(67, result.GetProperty("parameters").GetInt32());
        Assert.Equal("Sequential(Dense(4→8) → Tanh → Dense(8→3))", result.GetProperty("model").GetString());
        Assert.True(result.GetProperty("test_accuracy").GetDouble() >= 0.9, stdout);

        var (sumCode, summary, _) = Run("summary", "--model", model);
        Assert.Equal(0, sumCode);
        Assert.StartsWith("model  dense(8)-tanh-dense(3)\ninput  [N, 4]\n", summary);
        Assert.Contains("    total                   67    123\n", summary);
    }

    [Fact]
    public void ASpecTrainsLikeTheSameMlpShorthand()
    {
        // mlp:8's hidden activation is the default, ReLU.
        var (_, fromSpec, _) = Run("train", "--model", "dense(8)-relu-dense(3)", "--epochs", "5", "--save", Path.Combine(dir, "a.safetensors"), "--json");
        var (_, fromMlp, _) = Run("train", "--model", "mlp:8", "--epochs", "5", "--save", Path.Combine(dir, "b.safetensors"), "--json");
        double Loss(string json) => JsonDocument.Parse(json).RootElement.GetProperty("test_loss").GetDouble();
        Assert.Equal(Loss(fromMlp), Loss(fromSpec));
    }

    [Theory]
    [InlineData("dense(8)-tanh-dense(7)", new string[0], "backprop train: error: model ends with 7 outputs but iris has 3 classes.")]
    [InlineData("dense(8)-tanh-dense(3)", new[] { "--loss", "mse", "--dataset", "moons" }, "backprop train: error: model ends with 3 outputs but moons has 2 classes.")]
    [InlineData("dense(2)", new[] { "--loss", "bce", "--dataset", "xor" }, "backprop train: error: model ends with 2 outputs but --loss bce needs 1 (the score of the positive class).")]
    [InlineData("reshape(2,2)", new string[0], "backprop train: error: model ends with outputs of shape [N, 2, 2] but iris has 3 classes.")]
    public void TrainRejectsAModelWhoseOutputsDoNotFitTheData(string spec, string[] extra, string error)
    {
        var (code, _, stderr) = Run(["train", "--model", spec, "--epochs", "1", "--save", Path.Combine(dir, "m.safetensors"), .. extra]);
        Assert.Equal(1, code);
        Assert.Equal(error, stderr.TrimEnd('\n'));
    }

    [Fact]
    public void TrainRejectsActivationWithASpec()
    {
        var (code, _, stderr) = Run("train", "--model", "dense(3)", "--activation", "relu");
        Assert.Equal(2, code);
        Assert.StartsWith("backprop train: --activation goes with --model mlp:...; write the activations into the spec, e.g. dense(64)-relu-dense(10).\n", stderr);
    }

    [Fact]
    public void AModelStartingWithReshapeSavesEvaluatesAndPredicts()
    {
        var model = Path.Combine(dir, "reshaped.safetensors");
        Assert.Equal(0, Run("train", "--model", "reshape(2,2)-reshape(4)-dense(8)-tanh-dense(3)", "--epochs", "60", "--lr", "0.01", "--save", model).Code);

        var (evalCode, evalOut, _) = Run("evaluate", "--model", model, "--json");
        Assert.Equal(0, evalCode);
        Assert.True(JsonDocument.Parse(evalOut).RootElement.GetProperty("accuracy").GetDouble() >= 0.9, evalOut);

        var input = Path.Combine(dir, "new.csv");
        File.WriteAllText(input, "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.3,3.3,6.0,2.5\n");
        var (code, stdout, _) = Run("predict", "--model", model, "--data", input);
        Assert.Equal(0, code);
        var lines = stdout.TrimEnd('\n').Split('\n');
        Assert.StartsWith("5.1,3.5,1.4,0.2,setosa,", lines[1]);
        Assert.StartsWith("6.3,3.3,6,2.5,virginica,", lines[2]);
        Assert.Equal(1.0, lines[1].Split(',')[5..].Sum(p => double.Parse(p, CultureInfo.InvariantCulture)), 4);

        var (sumCode, summary, _) = Run("summary", "--model", model);
        Assert.Equal(0, sumCode);
        Assert.Contains(" 0  Reshape(2×2)  [N, 2, 2]       0      -\n", summary);
    }
}
