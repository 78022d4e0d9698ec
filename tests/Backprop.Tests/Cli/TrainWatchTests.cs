using Backprop.Cli;
using Backprop.Training;

namespace Backprop.Tests.Cli;

/// <summary><c>backprop train</c>'s progress bar, schedules, validation split, checkpoints and resuming.</summary>
public sealed class TrainWatchTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-watch-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string P(string name) => Path.Combine(dir, name);

    private static readonly string[] Common = ["--model", "mlp:8", "--batch", "16", "--optimizer", "adamw", "--schedule", "step:2,0.5", "--warmup", "1", "--val-split", "0.2"];

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void ProgressLineShowsBarPercentCountsLossSpeedAndEta()
    {
        var line = ProgressBar.Format(new BatchProgress(3, 10, 36_608, 60_000, 0.41234, 52_100));
        Assert.Equal("epoch  3/10 [██████░░░░]  61%  36,608/60,000  loss 0.4123  52,100 samples/s  ETA 0:01", line);
        Assert.Equal("epoch 1/1 [██████████] 100%  150/150  loss 1.0000  0 samples/s  ETA --:--", ProgressBar.Format(new BatchProgress(1, 1, 150, 150, 1, 0)));
        Assert.Equal("1:02:05", ProgressBar.FormatEta(3725));
        Assert.Equal("0:04", ProgressBar.FormatEta(3.2));
    }

    [Fact]
    public void TheBarIsRedrawnInPlaceAndReplacedByTheEpochLine()
    {
        var output = new StringWriter();
        var bar = new ProgressBar(output);
        bar.Update(new BatchProgress(1, 2, 50, 100, 0.5, 1000));
        bar.Update(new BatchProgress(1, 2, 100, 100, 0.5, 1000));   // within 100 ms of the last redraw: skipped
        bar.Finish("epoch 1/2  loss 0.5000");
        string drawn = "epoch 1/2 [█████░░░░░]  50%  50/100  loss 0.5000  1,000 samples/s  ETA 0:01";
        Assert.Equal("\r" + drawn + "\r" + "epoch 1/2  loss 0.5000".PadRight(drawn.Length) + Environment.NewLine, output.ToString());
    }

    [Fact]
    public void ResumingToMoreEpochsSavesTheSameModelFileAsOneRun()
    {
        Assert.Equal(0, Run(["train", .. Common, "--epochs", "6", "--save", P("whole.safetensors")]).Code);
        var (code, stdout, _) = Run(["train", .. Common, "--epochs", "3", "--checkpoint", P("ckpt"), "--save", P("half.safetensors")]);
        Assert.Equal(0, code);
        Assert.Contains("train 96 / validation 24 / test 30 rows", stdout);
        Assert.Contains("adamw lr 0.0010 warmup(N=1, s=0.1) then step(S=2, γ=0.5)", stdout);
        (code, stdout, _) = Run(["train", .. Common, "--epochs", "6", "--checkpoint", P("ckpt"), "--resume", "--save", P("resumed.safetensors")]);
        Assert.Equal(0, code);
        Assert.Contains("epoch 6/6", stdout);
        Assert.DoesNotContain("epoch 1/6", stdout);
        Assert.Equal(File.ReadAllBytes(P("whole.safetensors")), File.ReadAllBytes(P("resumed.safetensors")));
        Assert.NotEqual(File.ReadAllBytes(P("whole.safetensors")), File.ReadAllBytes(P("half.safetensors")));
    }

    [Fact]
    public void InterruptedMidEpochExits130AndResumesBitIdentically()
    {
        Assert.Equal(0, Run(["train", .. Common, "--epochs", "4", "--save", P("whole.safetensors")]).Code);
        var stdout = new StringWriter();
        var interrupted = new TrainCommand { InterruptWhen = p => p.Epoch == 3 && p.Seen == 32 };
        string[] args = [.. Common, "--epochs", "4", "--checkpoint", P("ckpt"), "--save", P("resumed.safetensors")];
        Assert.Equal(130, interrupted.Run(args, stdout, new StringWriter()));
        Assert.Contains($"interrupted; saved {Checkpoint.PathIn(P("ckpt"))}. Continue with: backprop train {string.Join(' ', args)} --resume", stdout.ToString());
        Assert.Equal((2, 2), Checkpoint.ReadPosition(P("ckpt")));
        Assert.False(File.Exists(P("resumed.safetensors")));

        Assert.Equal(0, Run(["train", .. args, "--resume"]).Code);
        Assert.Equal(File.ReadAllBytes(P("whole.safetensors")), File.ReadAllBytes(P("resumed.safetensors")));
    }

    [Fact]
    public void ResumingWithOtherOptionsOrDataNamesTheDifference()
    {
        Assert.Equal(0, Run(["train", .. Common, "--epochs", "2", "--checkpoint", P("ckpt"), "--save", P("m.safetensors")]).Code);
        var (code, _, stderr) = Run(["train", "--model", "mlp:4", "--batch", "16", "--optimizer", "adamw", "--schedule", "step:2,0.5", "--warmup", "1",
            "--epochs", "3", "--checkpoint", P("ckpt"), "--resume", "--save", P("m.safetensors")]);
        Assert.Equal(1, code);
        Assert.Contains("--model 'mlp:8' in the checkpoint but 'mlp:4' now", stderr);
        Assert.Contains("--val-split '0.2' in the checkpoint but '0' now", stderr);

        (code, _, stderr) = Run(["train", .. Common, "--epochs", "2", "--resume", "--save", P("m.safetensors")]);
        Assert.Equal(2, code);
        Assert.Contains("--resume needs --checkpoint DIR", stderr);

        (code, _, stderr) = Run(["train", .. Common, "--epochs", "2", "--checkpoint", P("none"), "--resume"]);
        Assert.Equal(1, code);
        Assert.Contains("there is no checkpoint to resume in", stderr);

        var csv = P("data.csv");
        File.WriteAllText(csv, "a,b,y\n" + string.Concat(Enumerable.Range(0, 40).Select(i => $"{i % 7},{i % 5},{i % 2}\n")));
        string[] csvArgs = ["train", "--data", csv, "--target", "y", "--epochs", "3", "--checkpoint", P("csv"), "--save", P("c.safetensors")];
        Assert.Equal(0, Run(csvArgs).Code);
        File.WriteAllText(csv, "a,b,y\n" + string.Concat(Enumerable.Range(0, 40).Select(i => $"{i % 6},{i % 5},{i % 2}\n")));
        (code, _, stderr) = Run([.. csvArgs, "--resume"]);
        Assert.Equal(1, code);
        Assert.Contains("the training data differs", stderr);
    }

    [Fact]
    public void BadScheduleIsAUsageError()
    {
        var (code, _, stderr) = Run("train", "--schedule", "linear");
        Assert.Equal(2, code);
        Assert.Contains("--schedule must be constant, step:S[,G], cosine[:MIN], onecycle[:MAXLR] or plateau[:F[,P]] but got 'linear'", stderr);
        (code, _, stderr) = Run("train", "--epochs", "3", "--warmup", "3");
        Assert.Equal(2, code);
        Assert.Contains("--warmup must be shorter than the run's 3 epochs but got 3", stderr);
    }

    [Fact]
    public void PatienceMonitorsAValidationSplitNotTheTestSet()
    {
        var (code, stdout, _) = Run("train", "--epochs", "400", "--lr", "0.05", "--patience", "3", "--save", P("m.safetensors"));
        Assert.Equal(0, code);
        Assert.Contains("train 108 / validation 12 / test 30 rows", stdout);
        Assert.Contains("stopped early after epoch", stdout);
    }
}
