using System.Text.Json;
using Backprop.Data;

namespace Backprop.Tests.Cli;

/// <summary><c>backprop train</c> refuses senseless settings, warns about risky ones, and stops a diverging run in one line.</summary>
public sealed class DivergenceCliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-diverge-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    // 400 rows of y = 3a − 2b + c·d: a regression SGD at rate 1000 drives to infinity within a few batches.
    private string RegressionCsv()
    {
        var rng = new Rng(7);
        var x = new float[400 * 4];
        var y = new float[400];
        for (int i = 0; i < 400; i++)
        {
            for (int j = 0; j < 4; j++) x[i * 4 + j] = rng.NextNormal();
            y[i] = 3 * x[i * 4] - 2 * x[i * 4 + 1] + x[i * 4 + 2] * x[i * 4 + 3];
        }
        var path = Path.Combine(dir, "reg.csv");
        CsvDataset.Save(path, new Dataset(Tensor.FromArray(x, 400, 4), Tensor.FromArray(y, 400, 1), ["a", "b", "c", "d"], name: "reg"), "y");
        return path;
    }

    [Theory]
    [InlineData("compiled")]
    [InlineData("graph")]
    public void SgdAtRate1000StopsWithTheEpochBatchAndLayerAndSavesNothing(string engine)
    {
        var save = Path.Combine(dir, "m.safetensors");
        var (code, stdout, stderr) = Run("train", "--data", RegressionCsv(), "--target", "y", "--optimizer", "sgd", "--momentum", "0.9",
            "--lr", "1000", "--model", "mlp:16,16", "--activation", "relu", "--batch", "16", "--epochs", "5", "--engine", engine, "--save", save);
        Assert.Equal(1, code);
        Assert.Equal(
            "warning: --lr 1000 is large for sgd (usual: 0.001 to 0.5); training may diverge.\n" +
            "backprop train: error: training diverged at epoch 1, batch 3: the loss became infinite; first non-finite values in layer 4 " +
            "(Dense(16→1)) activations. Nothing saved. Try a lower --lr (now 1000).\n", stderr.ReplaceLineEndings("\n"));
        Assert.DoesNotContain("epoch 1/5", stdout);
        Assert.False(File.Exists(save));
    }

    [Fact]
    public void AdamAtRate100IsWarnedAboutThenStoppedWhenItsLossGrowsAHundredfold()
    {
        var save = Path.Combine(dir, "m.safetensors");
        var (code, stdout, stderr) = Run("train", "--lr", "100", "--activation", "tanh", "--batch", "16", "--epochs", "20", "--save", save, "--json");
        Assert.Equal(1, code);
        var lines = stderr.ReplaceLineEndings("\n").Split('\n');
        Assert.Equal("warning: --lr 100 is large for adam (usual: 0.0001 to 0.01); training may diverge.", lines[0]);
        Assert.Matches(@"^backprop train: error: training diverged at epoch 1, batch 8: the epoch's mean loss so far is \d+\.\d+, more than 100 × " +
                       @"the loss the model started from \(\d\.\d+\)\. Nothing saved\. Try a lower --lr \(now 100\)\.$", lines[^2]);
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.True(json.GetProperty("diverged").GetBoolean());
        Assert.Equal(1, json.GetProperty("epoch").GetInt32());
        Assert.Equal(8, json.GetProperty("batch").GetInt32());
        Assert.Equal(lines[^2]["backprop train: error: ".Length..], json.GetProperty("error").GetString());
        Assert.False(File.Exists(save));
    }

    [Fact]
    public void ADivergedRunKeepsTheCheckpointOfItsLastGoodEpochAndSaysSo()
    {
        // The rate grows 100× an epoch (0.001, 0.1, 10): epochs 1 and 2 train, epoch 3 blows up.
        var checkpoint = Path.Combine(dir, "ck");
        var save = Path.Combine(dir, "m.safetensors");
        var (code, stdout, stderr) = Run("train", "--data", RegressionCsv(), "--target", "y", "--optimizer", "sgd", "--lr", "0.001",
            "--schedule", "step:1,100", "--model", "mlp:16,16", "--activation", "relu", "--batch", "16", "--epochs", "6", "--checkpoint", checkpoint, "--save", save);
        Assert.Equal(1, code);
        Assert.Contains("epoch 2/6", stdout);
        Assert.DoesNotContain("epoch 3/6", stdout);
        Assert.Equal($"backprop train: error: training diverged at epoch 3, batch 4: the loss became infinite; first non-finite values in layer 4 " +
                     $"(Dense(16→1)) activations. Nothing saved; {Path.Combine(checkpoint, "checkpoint.safetensors")} still holds epoch 2. " +
                     "Try a lower --lr (now 0.001).\n", stderr.ReplaceLineEndings("\n"));
        Assert.True(File.Exists(Path.Combine(checkpoint, "checkpoint.safetensors")));
        Assert.False(File.Exists(save));
    }

    [Theory]
    [InlineData("--optimizer sgd --momentum 5", "backprop train: --momentum must be in [0, 1) but got 5.")]
    [InlineData("--optimizer sgd --momentum 1", "backprop train: --momentum must be in [0, 1) but got 1.")]
    [InlineData("--momentum 0.9", "backprop train: --momentum goes with --optimizer sgd (adam and adamw keep their own momentum, β₁ = 0.9); got --optimizer adam.")]
    [InlineData("--lr 0", "backprop train: --lr must be above 0 but got 0.")]
    [InlineData("--lr -0.5", "backprop train: --lr must be above 0 but got -0.5.")]
    [InlineData("--weight-decay -1", "backprop train: --weight-decay must be at least 0 but got -1.")]
    [InlineData("--batch 0", "backprop train: --batch must be at least 1 but got 0.")]
    public void SenselessSettingsAreRefusedBeforeAnyWork(string options, string message)
    {
        var (code, stdout, stderr) = Run(["train", .. options.Split(' '), "--save", Path.Combine(dir, "x.safetensors")]);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal(message, stderr.ReplaceLineEndings("\n").Split('\n')[0]);
    }

    [Fact]
    public void AHugeBatchTrainsAsOneBatchOfEveryRowWithANote()
    {
        var (code, stdout, stderr) = Run("train", "--batch", "1000000000", "--epochs", "2", "--save", Path.Combine(dir, "b.safetensors"));
        Assert.Equal(0, code);
        Assert.Equal("note: --batch 1000000000 is more than the 120 training rows; each epoch is one batch of all 120.\n", stderr.ReplaceLineEndings("\n"));
        var (_, whole, _) = Run("train", "--batch", "120", "--epochs", "2", "--save", Path.Combine(dir, "w.safetensors"));
        Assert.Equal(TestLine(whole), TestLine(stdout));
    }

    private static string TestLine(string output) => output.Split('\n').Single(l => l.StartsWith("test    ", StringComparison.Ordinal));

    [Fact]
    public void SoftmaxBeforeCrossEntropyIsWarnedAboutAndTrainingContinues()
    {
        var (code, stdout, stderr) = Run("train", "--model", "dense(16)-relu-dense(3)-softmax", "--epochs", "2", "--save", Path.Combine(dir, "s.safetensors"));
        Assert.Equal(0, code);
        Assert.Equal("warning: the model ends with softmax but cross_entropy takes logits (it applies log-softmax itself); remove the final softmax. " +
                     "Training continues, but more slowly.\n", stderr.ReplaceLineEndings("\n"));
        Assert.Contains("epoch 2/2", stdout);
        var (_, _, clean) = Run("train", "--model", "dense(16)-relu-dense(3)", "--epochs", "1", "--save", Path.Combine(dir, "c.safetensors"));
        Assert.Equal("", clean);
    }

    [Fact]
    public void SigmoidBeforeBceWithLogitsIsWarnedAbout()
    {
        var (code, _, stderr) = Run("train", "--dataset", "moons", "--loss", "bce_logits", "--model", "dense(8)-relu-dense(1)-sigmoid", "--epochs", "1",
            "--save", Path.Combine(dir, "s.safetensors"));
        Assert.Equal(0, code);
        Assert.Equal("warning: the model ends with sigmoid but bce_logits takes logits (it applies the sigmoid itself); remove the final sigmoid " +
                     "or use --loss bce. Training continues, but more slowly.\n", stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void BceWithoutAFinalSigmoidIsWarnedAboutAndItsNaNIsBlamedOnTheLoss()
    {
        var (code, _, stderr) = Run("train", "--dataset", "moons", "--loss", "bce", "--model", "dense(8)-relu-dense(1)", "--lr", "0.01", "--batch", "16", "--epochs", "3",
            "--save", Path.Combine(dir, "s.safetensors"));
        var lines = stderr.ReplaceLineEndings("\n").Split('\n');
        Assert.Equal("warning: bce takes probabilities in (0, 1) but the model does not end with sigmoid; end it with sigmoid, " +
                     "or use --loss bce_logits. Training continues, and may turn NaN.", lines[0]);
        Assert.Equal(1, code);
        Assert.Matches(@"^backprop train: error: training diverged at epoch \d, batch \d+: the loss became NaN; the model's outputs were finite but the " +
                       @"loss of them was not \(outputs the loss cannot take, or so far off that it overflowed\)\. Nothing saved\. Try a lower --lr \(now 0\.01\)\.$", lines[1]);
        var (_, _, clean) = Run("train", "--dataset", "moons", "--loss", "bce", "--epochs", "1", "--save", Path.Combine(dir, "m.safetensors"));
        Assert.Equal("", clean);
    }
}
