using System.Diagnostics;
using System.Runtime.InteropServices;
using Backprop.Training;

namespace Backprop.Tests.Cli;

/// <summary>
/// A real SIGTERM (what Docker, systemd and Kubernetes send) to <c>backprop train</c> run as its own process: the
/// batch finishes, the checkpoint is written, no temporary file is left, and the exit code is 143.
/// </summary>
public sealed class SigtermTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-sigterm-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    private const int Sigterm = 15;

    [Fact]
    public void SigtermWritesACheckpointAndExits143()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;   // POSIX signals only
        var cli = Path.Combine(AppContext.BaseDirectory, "Backprop.Cli.dll");
        var checkpoint = Path.Combine(dir, "ck");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        // Far more epochs than the test waits for: only the signal can end the run.
        foreach (var a in new[] { cli, "train", "--model", "mlp:4", "--batch", "16", "--epochs", "1000000", "--log-every", "1000000",
                     "--checkpoint", checkpoint, "--save", Path.Combine(dir, "m.safetensors") })
            start.ArgumentList.Add(a);

        using var process = Process.Start(start)!;
        var stdout = new System.Text.StringBuilder();
        var stderr = new System.Text.StringBuilder();
        using var training = new ManualResetEventSlim();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) stdout.AppendLine(e.Data);
            if (e.Data.StartsWith("epoch", StringComparison.Ordinal)) training.Set();   // printed after the handlers are in place
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            Assert.True(training.Wait(TimeSpan.FromSeconds(60)), $"no epoch line; stdout: {stdout} stderr: {stderr}");
            Assert.Equal(0, Kill(process.Id, Sigterm));
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), "the run did not stop after SIGTERM");
            process.WaitForExit();   // drains the output
        }
        finally
        {
            if (!process.HasExited) process.Kill();
        }

        Assert.Equal(143, process.ExitCode);
        Assert.Contains("interrupted (SIGTERM): finishing the current batch", stderr.ToString());
        Assert.Contains($"interrupted; saved {Checkpoint.PathIn(checkpoint)}. Continue with: backprop train", stdout.ToString());
        var (epoch, batch) = Checkpoint.ReadPosition(checkpoint);
        Assert.True(epoch >= 1 && batch is >= 0 and < 8, $"position {epoch}/{batch}");
        Assert.Equal([Checkpoint.PathIn(checkpoint)], Directory.GetFiles(checkpoint));
    }
}
