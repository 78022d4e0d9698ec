using System.Runtime.InteropServices;

namespace Backprop.Cli;

/// <summary>
/// Turns the first Ctrl-C, SIGTERM (how Docker, systemd and Kubernetes stop a process) or SIGHUP (the terminal
/// closed) into a cancellation: training finishes its batch, checkpoints and stops, and the command exits with
/// 128 + the signal's number (<see cref="ExitCode"/>: 130, 143, 129). A second signal ends the process at once.
/// </summary>
internal sealed class CtrlC : IDisposable
{
    private readonly CancellationTokenSource source = new();
    private readonly TextWriter stderr;
    private readonly ConsoleCancelEventHandler handler;
    private readonly List<PosixSignalRegistration> registrations = [];
    private int exitCode = 130;

    public CtrlC(TextWriter stderr)
    {
        this.stderr = stderr;
        handler = (_, e) => e.Cancel = First("Ctrl-C", 130);
        Console.CancelKeyPress += handler;
        if (OperatingSystem.IsWindows()) return;
        registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => c.Cancel = First("SIGTERM", 143)));
        registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = First("SIGHUP", 129)));
    }

    public CancellationToken Token => source.Token;

    /// <summary>The exit code for the signal that cancelled the run: 128 + its number (130 for Ctrl-C and <see cref="Cancel"/>).</summary>
    public int ExitCode => exitCode;

    /// <summary>What the first Ctrl-C does, for tests.</summary>
    public void Cancel() => source.Cancel();

    /// <summary>What the first SIGTERM does, for tests of the handler without sending a signal.</summary>
    internal void Terminate() => First("SIGTERM", 143);

    // True (keep running) for the first signal; false lets a second one end the process as it normally would.
    private bool First(string signal, int code)
    {
        if (source.IsCancellationRequested) return false;
        exitCode = code;
        stderr.WriteLine();
        stderr.WriteLine($"interrupted ({signal}): finishing the current batch ({signal} again to quit at once)");
        source.Cancel();
        return true;
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= handler;
        foreach (var r in registrations) r.Dispose();
        source.Dispose();
    }
}
