namespace Backprop.Cli;

/// <summary>
/// Turns the first Ctrl-C into a cancellation (training finishes its batch, checkpoints and stops) and lets a
/// second one end the process at once.
/// </summary>
internal sealed class CtrlC : IDisposable
{
    private readonly CancellationTokenSource source = new();
    private readonly ConsoleCancelEventHandler handler;

    public CtrlC(TextWriter stderr)
    {
        handler = (_, e) =>
        {
            if (source.IsCancellationRequested) return;   // second Ctrl-C: e.Cancel stays false, the process ends
            e.Cancel = true;
            stderr.WriteLine();
            stderr.WriteLine("interrupted: finishing the current batch (Ctrl-C again to quit at once)");
            source.Cancel();
        };
        Console.CancelKeyPress += handler;
    }

    public CancellationToken Token => source.Token;

    /// <summary>What the first Ctrl-C does, for tests.</summary>
    public void Cancel() => source.Cancel();

    public void Dispose()
    {
        Console.CancelKeyPress -= handler;
        source.Dispose();
    }
}
