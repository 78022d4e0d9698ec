using System.Globalization;
using System.Text.Json;
using Backprop.Cli;
using Backprop.IO;
using Backprop.Training;

namespace Backprop.Tests.Cli;

/// <summary>
/// <c>backprop train</c> refuses, before loading data, outputs it could not write; never overwrites a checkpoint by
/// mistake; keeps the model of an interrupted run; and resumes by option values, not their spelling.
/// </summary>
public sealed class NothingIsLostTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-safe-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string P(string name) => Path.Combine(dir, name);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    /// <summary>Refused with exit 2 and exactly this one line, before anything was loaded or printed.</summary>
    private static void AssertRefused(string expectedLine, params string[] args)
    {
        var (code, stdout, stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal(expectedLine + Environment.NewLine, stderr);
    }

    [Fact]
    public void SaveOntoAFolderIsRefusedBeforeTraining()
    {
        var folder = Directory.CreateDirectory(P("out")).FullName;
        AssertRefused($"backprop train: --save '{folder}' is a folder, but --save names a file; give a file name such as '{Path.Combine(folder, "model.safetensors")}'.",
            "train", "--epochs", "1", "--save", folder);
    }

    [Fact]
    public void SaveBelowAFileIsRefused()
    {
        File.WriteAllText(P("plain"), "x");
        var target = Path.Combine(P("plain"), "sub", "m.safetensors");
        AssertRefused($"backprop train: --save '{target}': '{P("plain")}' is a file, so the folder '{Path.Combine(P("plain"), "sub")}' cannot be created.",
            "train", "--epochs", "1", "--save", target);
    }

    [Fact]
    public void AnOverLongSaveNameIsRefused()
    {
        var name = new string('a', 5000) + ".safetensors";
        int limit = 255 - $"..{Environment.ProcessId}.tmp".Length;
        var (code, stdout, stderr) = Run("train", "--epochs", "1", "--save", P(name));
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains($": the name '{name[..36]}…{name[^36..]}' is 5012 bytes long, but names can be at most {limit} bytes here", stderr);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void AnUnwritableFolderIsRefusedAndNoProbeIsLeft()
    {
        // sysfs refuses new files even to root, where permission bits would not.
        if (!OperatingSystem.IsLinux() || !Directory.Exists("/sys/kernel")) return;
        AssertRefused("backprop train: --save '/sys/kernel/m.safetensors': cannot write into the folder '/sys/kernel': permission denied.",
            "train", "--epochs", "1", "--save", "/sys/kernel/m.safetensors");
        AssertRefused("backprop train: --checkpoint '/sys/kernel/ck': cannot write into the folder '/sys/kernel': permission denied.",
            "train", "--epochs", "1", "--save", P("m.safetensors"), "--checkpoint", "/sys/kernel/ck");
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public void ReportOrCheckpointOntoAFileIsRefused()
    {
        File.WriteAllText(P("rf.txt"), "x");
        AssertRefused($"backprop train: --report '{P("rf.txt")}' is a file, but --report names a folder (it writes index.html into it); give a folder name.",
            "train", "--epochs", "1", "--save", P("m.safetensors"), "--report", P("rf.txt"));
        AssertRefused($"backprop train: --checkpoint '{P("rf.txt")}' is a file, but --checkpoint names a folder (it writes checkpoint.safetensors into it); give a folder name.",
            "train", "--epochs", "1", "--save", P("m.safetensors"), "--checkpoint", P("rf.txt"));
        Assert.Equal("x", File.ReadAllText(P("rf.txt")));
        Assert.False(File.Exists(P("m.safetensors")));
    }

    [Fact]
    public void PredictOutputAndEvaluateReportAreCheckedBeforeLoading()
    {
        var folder = Directory.CreateDirectory(P("out")).FullName;
        var (code, _, stderr) = Run("predict", "--model", P("none.safetensors"), "--data", P("none.csv"), "--output", folder);
        Assert.Equal(2, code);
        Assert.Equal($"backprop predict: --output '{folder}' is a folder, but --output names a file; give a file name such as '{Path.Combine(folder, "predictions.csv")}'.{Environment.NewLine}", stderr);
        File.WriteAllText(P("rep"), "x");
        (code, _, stderr) = Run("evaluate", "--model", P("none.safetensors"), "--report", P("rep"));
        Assert.Equal(2, code);
        Assert.StartsWith($"backprop evaluate: --report '{P("rep")}' is a file", stderr);
    }

    [Fact]
    public void TooLittleRoomOnTheDiskIsRefusedNamingBothSizes()
    {
        var e = Assert.Throws<RefusedException>(() => OutputPaths.CheckRoom("--save", P("m.safetensors"), long.MaxValue / 2, "the model file"));
        Assert.Matches($"^--save '{System.Text.RegularExpressions.Regex.Escape(P("m.safetensors"))}': the disk holding '.+' has [0-9.]+ [KMG]?B(ytes)? free, but the model file needs about 4294967296 GB; free some space or write it elsewhere\\.$", e.Message);
        OutputPaths.CheckRoom("--save", P("m.safetensors"), 1024, "the model file");   // a kilobyte fits
    }

    [Fact]
    public void ACheckpointFolderThatHoldsARunNeedsResumeOrOverwrite()
    {
        string[] run = ["train", "--model", "mlp:4", "--epochs", "2", "--checkpoint", P("ck"), "--save", P("m.safetensors")];
        Assert.Equal(0, Run(run).Code);
        var before = File.ReadAllBytes(Checkpoint.PathIn(P("ck")));
        AssertRefused($"backprop train: --checkpoint '{P("ck")}' already holds a run ({Checkpoint.PathIn(P("ck"))}); add --resume to continue it, or --overwrite to start a new run that replaces it.",
            [.. run[..4], "1", .. run[5..]]);
        Assert.Equal(before, File.ReadAllBytes(Checkpoint.PathIn(P("ck"))));

        var (code, _, stderr) = Run([.. run, "--resume", "--overwrite"]);
        Assert.Equal(2, code);
        Assert.StartsWith("backprop train: give --resume (continue the run in --checkpoint DIR) or --overwrite (replace it with a new run), not both.", stderr);
        (code, _, stderr) = Run("train", "--overwrite", "--epochs", "1");
        Assert.Equal(2, code);
        Assert.StartsWith("backprop train: --overwrite goes with --checkpoint DIR", stderr);

        Assert.Equal(0, Run([.. run[..4], "1", .. run[5..], "--overwrite"]).Code);
        Assert.Equal((1, 0), Checkpoint.ReadPosition(P("ck")));
    }

    [Fact]
    public void ResumingWithFewerEpochsThanDoneIsRefused()
    {
        string[] run = ["train", "--model", "mlp:4", "--checkpoint", P("ck"), "--save", P("m.safetensors")];
        Assert.Equal(0, Run([.. run, "--epochs", "3"]).Code);
        AssertRefused($"backprop train: cannot resume the checkpoint in '{P("ck")}' with --epochs 2: it has already trained 3 epochs. Give --epochs 3 or more to continue it (--epochs 3 saves its model as it is; a run cannot be shortened).",
            [.. run, "--epochs", "2", "--resume"]);

        var cut = new TrainCommand { InterruptWhen = p => p.Epoch == 2 };
        Assert.Equal(130, cut.Run(["--model", "mlp:4", "--batch", "16", "--checkpoint", P("mid"), "--save", P("m.safetensors"), "--epochs", "3"], new StringWriter(), new StringWriter()));
        var (code, _, stderr) = Run("train", "--model", "mlp:4", "--checkpoint", P("mid"), "--save", P("m.safetensors"), "--epochs", "1", "--resume");
        Assert.Equal(2, code);
        Assert.Equal($"backprop train: cannot resume the checkpoint in '{P("mid")}' with --epochs 1: it is part-way through epoch 2. Give --epochs 2 or more to continue it (a run cannot be shortened to fewer epochs than it has trained).{Environment.NewLine}", stderr);
    }

    [Fact]
    public void ResumeComparesOptionValuesNotTheirSpelling()
    {
        string[] run = ["train", "--model", "mlp:4", "--epochs", "2", "--checkpoint", P("ck"), "--save", P("m.safetensors"), "--schedule", "constant"];
        Assert.Equal(0, Run(run).Code);
        // Whatever the default rate is, the run recorded the value it used; give it explicitly, in two spellings. (A constant
        // schedule, since the default cosine for a fixed --epochs cannot be extended.)
        var values = JsonSerializer.Deserialize<Dictionary<string, string?>>(Checkpoint.ReadMetadata(P("ck"))["cli.values"])!;
        float lr = float.Parse(values["lr"]!, CultureInfo.InvariantCulture);
        string[] resume = [.. run[..4], "3", .. run[5..], "--resume"];
        Assert.Equal(0, Run([.. resume, "--lr", values["lr"]!]).Code);
        Assert.Equal(0, Run([.. resume[..4], "4", .. resume[5..], "--lr", lr.ToString("E6", CultureInfo.InvariantCulture), "--seed", "01"]).Code);

        var other = (lr * 2).ToString("R", CultureInfo.InvariantCulture);
        var otherBatch = (int.Parse(values["batch"]!, CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture);
        var (code, _, stderr) = Run([.. resume[..4], "5", .. resume[5..], "--lr", other, "--batch", otherBatch]);
        Assert.Equal(1, code);
        Assert.Equal($"backprop train: error: cannot resume the checkpoint in '{P("ck")}' with other options: --batch '{values["batch"]}' in the checkpoint but '{otherBatch}' now; --lr '{values["lr"]}' in the checkpoint but '{other}' now.{Environment.NewLine}", stderr);
    }

    [Fact]
    public void AnInterruptedJsonRunStillEndsWithItsObjectSayingWhatWasKept()
    {
        var stdout = new StringWriter();
        var cut = new TrainCommand { InterruptWhen = p => p.Epoch == 3 };
        Assert.Equal(130, cut.Run(["--model", "mlp:4", "--batch", "16", "--epochs", "10", "--save", P("m.safetensors"), "--json"], stdout, new StringWriter()));
        var saved = JsonDocument.Parse(stdout.ToString()).RootElement;
        Assert.True(saved.GetProperty("interrupted").GetBoolean());
        Assert.Equal(2, saved.GetProperty("epochs").GetInt32());
        Assert.Equal(P("m.safetensors"), saved.GetProperty("saved").GetString());
        Assert.True(saved.GetProperty("test_accuracy").GetDouble() > 0);

        stdout = new StringWriter();
        cut = new TrainCommand { InterruptWhen = p => p.Epoch == 2 };
        Assert.Equal(130, cut.Run(["--model", "mlp:4", "--batch", "16", "--epochs", "10", "--checkpoint", P("ck"), "--json"], stdout, new StringWriter()));
        var checkpointed = JsonDocument.Parse(stdout.ToString()).RootElement;
        Assert.True(checkpointed.GetProperty("interrupted").GetBoolean());
        Assert.Equal(JsonValueKind.Null, checkpointed.GetProperty("saved").ValueKind);
        Assert.StartsWith(P("ck"), checkpointed.GetProperty("checkpoint").GetString());

        stdout = new StringWriter();
        Assert.Equal(0, new TrainCommand().Run(["--model", "mlp:4", "--epochs", "2", "--save", P("m.safetensors"), "--json"], stdout, new StringWriter()));
        Assert.False(JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("interrupted").GetBoolean());
    }

    [Fact]
    public void InterruptedWithoutACheckpointStillSavesTheModelAndSaysItCannotResume()
    {
        var stdout = new StringWriter();
        var cut = new TrainCommand { InterruptWhen = p => p.Epoch == 3 };
        Assert.Equal(130, cut.Run(["--model", "mlp:4", "--batch", "16", "--epochs", "10", "--save", P("m.safetensors")], stdout, new StringWriter()));
        Assert.Contains($"saved   {P("m.safetensors")}", stdout.ToString());
        Assert.EndsWith($"interrupted after 2 of 10 epochs; saved the model trained so far to {P("m.safetensors")}. " +
            $"It cannot be resumed: that needs a checkpoint (train with --checkpoint DIR to be able to stop and continue).{Environment.NewLine}", stdout.ToString());
        var (model, info) = ModelFile.Load(P("m.safetensors"));
        Assert.Equal(4, info.FeatureNames.Count);
        Assert.Equal(4 * 4 + 4 + 4 * 3 + 3, model.ParameterCount());
    }

    [Fact]
    public void TheFirstSigtermCancelsWithExitCode143AndASecondIsLeftToTheSystem()
    {
        var stderr = new StringWriter();
        using var signals = new CtrlC(stderr);
        Assert.Equal(130, signals.ExitCode);
        signals.Terminate();
        Assert.True(signals.Token.IsCancellationRequested);
        Assert.Equal(143, signals.ExitCode);
        Assert.Equal($"{Environment.NewLine}interrupted (SIGTERM): finishing the current batch (SIGTERM again to quit at once){Environment.NewLine}", stderr.ToString());
        signals.Terminate();
        Assert.Equal(143, signals.ExitCode);
        Assert.Equal(2, stderr.ToString().Split('\n').Length - 1);   // the second signal is not announced: it ends the process
    }
}
