namespace Backprop.Tests.Cli;

/// <summary><c>backprop train --schedule onecycle[:MAXLR]</c> and <c>plateau[:F[,P]]</c>: runs, resumes and mistakes.</summary>
public sealed class ScheduleCliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-schedcli-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string P(string name) => Path.Combine(dir, name);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void OneCycleRunsOverEveryStepOfTheRun()
    {
        // Iris: 120 training rows in batches of 16 are 8 steps an epoch, 24 in three epochs.
        var (code, stdout, _) = Run("train", "--model", "mlp:4", "--epochs", "3", "--batch", "16", "--schedule", "onecycle:0.05", "--save", P("m.safetensors"));
        Assert.Equal(0, code);
        Assert.Contains("adam lr 0.0010 onecycle(T=24, max=0.05, pct=0.3, d=25, d_final=10000)", stdout);
        (code, stdout, _) = Run("train", "--model", "mlp:4", "--epochs", "2", "--batch", "40", "--schedule", "onecycle", "--lr", "0.1", "--save", P("n.safetensors"));
        Assert.Equal(0, code);
        Assert.Contains("onecycle(T=6, max=base,", stdout);
    }

    [Fact]
    public void PlateauIsNamedWithItsSettings()
    {
        var (code, stdout, _) = Run("train", "--model", "mlp:4", "--epochs", "2", "--schedule", "plateau:0.5,3", "--save", P("m.safetensors"));
        Assert.Equal(0, code);
        Assert.Contains("plateau(factor=0.5, patience=3, threshold=0.0001, cooldown=0, min=0)", stdout);
        (code, stdout, _) = Run("train", "--model", "mlp:4", "--epochs", "2", "--schedule", "plateau", "--save", P("n.safetensors"));
        Assert.Equal(0, code);
        Assert.Contains("plateau(factor=0.1, patience=10,", stdout);
    }

    [Fact]
    public void ResumingAPlateauRunEqualsOneRun()
    {
        string[] common = ["train", "--model", "mlp:4", "--batch", "16", "--schedule", "plateau:0.5,0", "--lr", "0.05"];
        Assert.Equal(0, Run([.. common, "--epochs", "6", "--save", P("whole.safetensors")]).Code);
        Assert.Equal(0, Run([.. common, "--epochs", "3", "--checkpoint", P("ck"), "--save", P("half.safetensors")]).Code);
        Assert.Equal(0, Run([.. common, "--epochs", "6", "--checkpoint", P("ck"), "--resume", "--save", P("resumed.safetensors")]).Code);
        Assert.Equal(File.ReadAllBytes(P("whole.safetensors")), File.ReadAllBytes(P("resumed.safetensors")));
    }

    [Fact]
    public void OneCycleCannotBeStretchedOnResume()
    {
        string[] common = ["train", "--model", "mlp:4", "--batch", "16", "--schedule", "onecycle:0.05", "--checkpoint", P("ck")];
        Assert.Equal(0, Run([.. common, "--epochs", "2", "--save", P("m.safetensors")]).Code);
        var (code, _, stderr) = Run([.. common, "--epochs", "4", "--resume", "--save", P("n.safetensors")]);
        Assert.Equal(1, code);
        Assert.Contains("with --epochs 4: it ran with 2, and the one-cycle schedule is laid out over the run's length.", stderr);
    }

    [Theory]
    [InlineData("onecycle:abc", "--schedule onecycle:abc: the peak rate MAXLR must be a positive number but got 'abc'.")]
    [InlineData("onecycle:0", "--schedule onecycle:0: the peak rate MAXLR must be a positive number but got '0'.")]
    [InlineData("onecycle:1,2", "--schedule must be constant, step:S[,G], cosine[:MIN], onecycle[:MAXLR] or plateau[:F[,P]] but got 'onecycle:1,2'.")]
    [InlineData("plateau:2", "--schedule plateau:2: the factor F must be a number between 0 and 1 but got '2'.")]
    [InlineData("plateau:0.5,x", "--schedule plateau:0.5,x: the patience P must be a whole number of epochs ≥ 0 but got 'x'.")]
    [InlineData("plateau:0.5,-1", "--schedule plateau:0.5,-1: the patience P must be a whole number of epochs ≥ 0 but got '-1'.")]
    [InlineData("plateau:0.5,1,2", "--schedule must be constant, step:S[,G], cosine[:MIN], onecycle[:MAXLR] or plateau[:F[,P]] but got 'plateau:0.5,1,2'.")]
    public void BadValuesAreUsageErrors(string schedule, string message)
    {
        var (code, _, stderr) = Run("train", "--epochs", "3", "--schedule", schedule);
        Assert.Equal(2, code);
        Assert.StartsWith($"backprop train: {message}", stderr);
    }

    [Fact]
    public void OneCycleRefusesAWarmUpAndTooShortARun()
    {
        var (code, _, stderr) = Run("train", "--epochs", "5", "--schedule", "onecycle", "--warmup", "2");
        Assert.Equal(2, code);
        Assert.StartsWith("backprop train: --warmup does not go with --schedule onecycle: one-cycle warms up by itself, over the first 30% of the steps.", stderr);
        (code, _, stderr) = Run("train", "--epochs", "1", "--batch", "500", "--schedule", "onecycle");
        Assert.Equal(2, code);
        Assert.StartsWith("backprop train: --schedule onecycle needs at least 2 steps to rise and fall but the run has 1.", stderr);
    }
}
