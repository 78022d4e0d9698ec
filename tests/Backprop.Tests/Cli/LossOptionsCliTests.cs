using System.Text.Json;

namespace Backprop.Tests.Cli;

/// <summary><c>backprop train</c>'s new losses, <c>--label-smoothing</c> and <c>--clip-grad-norm</c> / <c>--clip-grad-value</c>.</summary>
public sealed class LossOptionsCliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-loss-cli-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private (int Code, string Out, string Err) Train(params string[] args) =>
        CliRunner.Run(["train", "--save", Path.Combine(dir, "m.safetensors"), .. args]);

    [Theory]
    [InlineData("--clip-grad-norm 0", "backprop train: --clip-grad-norm must be a positive number but got 0.")]
    [InlineData("--clip-grad-norm -2", "backprop train: --clip-grad-norm must be a positive number but got -2.")]
    [InlineData("--clip-grad-value 0", "backprop train: --clip-grad-value must be a positive number but got 0.")]
    [InlineData("--clip-grad-value abc", "backprop train: --clip-grad-value expects a number but got 'abc'.")]
    [InlineData("--clip-grad-norm NaN", "backprop train: --clip-grad-norm expects a number but got 'NaN'.")]
    [InlineData("--label-smoothing 0.1 --loss mse", "backprop train: --label-smoothing goes with --loss cross_entropy, but the loss is mse.")]
    [InlineData("--label-smoothing 1", "backprop train: --label-smoothing must be in [0, 1) but got 1.")]
    [InlineData("--loss nll --model dense(3)",
        "backprop train: --loss nll takes log-probabilities, so the model must end with log_softmax, but it ends with Dense(4→3); add '-log_softmax' to the spec.")]
    [InlineData("--loss kl_div --model dense(3)-softmax",
        "backprop train: --loss kl_div takes log-probabilities, so the model must end with log_softmax, but it ends with Softmax; add '-log_softmax' to the spec.")]
    public void MistakesGetOneLineInTheProjectsWords(string options, string expected)
    {
        var (code, stdout, stderr) = Train(options.Split(' '));
        Assert.NotEqual(0, code);
        Assert.Equal(expected, stderr.Split('\n')[0].TrimEnd('\r'));
        Assert.DoesNotContain("   at ", stderr + stdout);
    }

    [Fact]
    public void NllOnAnMlpGetsALogSoftmaxOutputAndLearnsIris()
    {
        var (code, stdout, stderr) = Train("--loss", "nll", "--epochs", "40", "--json");
        Assert.Equal(0, code);
        Assert.Contains("→ LogSoftmax)", stderr);
        var result = JsonDocument.Parse(stdout).RootElement;
        Assert.True(result.GetProperty("test_accuracy").GetDouble() >= 0.9, stdout);
        Assert.Equal("graph", result.GetProperty("engine").GetString());
    }

    [Fact]
    public void LabelSmoothingTrainsThroughTheCompiledStepAndChangesTheRun()
    {
        var (code, stdout, _) = Train("--label-smoothing", "0.1", "--epochs", "30", "--json");
        Assert.Equal(0, code);
        var result = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("compiled", result.GetProperty("engine").GetString());
        Assert.True(result.GetProperty("test_accuracy").GetDouble() >= 0.9, stdout);
        // Smoothed targets keep the logits from growing without bound: the plain loss falls further.
        var (_, plainOut, _) = Train("--epochs", "30", "--json");
        Assert.True(JsonDocument.Parse(plainOut).RootElement.GetProperty("train_loss").GetDouble() < result.GetProperty("train_loss").GetDouble());
    }

    [Fact]
    public void ClippingChangesTheRunAndKeepsTheCompiledStep()
    {
        string Weights(params string[] extra)
        {
            var (code, stdout, _) = Train(["--epochs", "3", "--json", "--engine", "compiled", .. extra]);
            Assert.Equal(0, code);
            Assert.Equal("compiled", JsonDocument.Parse(stdout).RootElement.GetProperty("engine").GetString());
            return Convert.ToHexString(File.ReadAllBytes(Path.Combine(dir, "m.safetensors")));
        }
        var plain = Weights();
        Assert.NotEqual(plain, Weights("--clip-grad-norm", "0.01"));
        Assert.NotEqual(plain, Weights("--clip-grad-value", "0.001"));
        Assert.Equal(plain, Weights("--clip-grad-norm", "1e9"));   // a limit never reached changes nothing
    }
}
