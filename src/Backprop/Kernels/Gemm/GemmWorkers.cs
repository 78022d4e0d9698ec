using System.Runtime.ExceptionServices;

namespace Backprop.Kernels;

/// <summary>
/// Dedicated background threads for splitting one GEMM across cores. Unlike <c>Parallel.For</c> on the shared thread
/// pool, a part handed to a worker is guaranteed to run beside the caller's part rather than after it (the pool may
/// let the caller take every iteration when no worker is awake yet). One product uses the workers at a time; a
/// concurrent caller that finds them busy runs on its own thread.
/// </summary>
internal static class GemmWorkers
{
    private static readonly Lock s_gate = new();
    private static readonly ManualResetEventSlim s_done = new(false, spinCount: 2000);
    private static Worker[] s_workers = [];
    private static Action<int>? s_body;
    private static int s_remaining;
    private static Exception? s_error;

    /// <summary>
    /// Runs <paramref name="body"/>(0 … parts−1) concurrently, part 0 on the calling thread, and returns true; or
    /// returns false without running anything when another product holds the workers.
    /// </summary>
    public static bool TryRun(int parts, Action<int> body)
    {
        if (!s_gate.TryEnter()) return false;
        try
        {
            EnsureWorkers(parts - 1);
            s_body = body;
            s_error = null;
            s_remaining = parts - 1;
            s_done.Reset();
            for (int w = 0; w < parts - 1; w++) s_workers[w].Start(w + 1);
            try { body(0); }
            catch (Exception e) { s_error ??= e; }
            s_done.Wait();
            s_body = null;
            if (s_error is { } error) ExceptionDispatchInfo.Throw(error);
            return true;
        }
        finally
        {
            s_gate.Exit();
        }
    }

    private static void EnsureWorkers(int count)
    {
        if (s_workers.Length >= count) return;
        var grown = new Worker[count];
        Array.Copy(s_workers, grown, s_workers.Length);
        for (int w = s_workers.Length; w < count; w++) grown[w] = new Worker(w);
        s_workers = grown;
    }

    private static void Finished(Exception? error)
    {
        if (error is not null) Interlocked.CompareExchange(ref s_error, error, null);
        if (Interlocked.Decrement(ref s_remaining) == 0) s_done.Set();
    }

    private sealed class Worker
    {
        private readonly ManualResetEventSlim _go = new(false, spinCount: 2000);
        private int _part;

        public Worker(int index)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = $"Backprop GEMM worker {index + 1}" };
            thread.Start();
        }

        public void Start(int part)
        {
            _part = part;
            _go.Set();
        }

        private void Loop()
        {
            while (true)
            {
                _go.Wait();
                _go.Reset();
                Exception? error = null;
                try { s_body!(_part); }
                catch (Exception e) { error = e; }
                Finished(error);
            }
        }
    }
}
