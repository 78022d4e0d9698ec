using System.Runtime.ExceptionServices;

namespace Backprop.Kernels;

/// <summary>
/// Dedicated background threads for splitting one piece of work (a GEMM, a convolution's images, an optimizer's
/// update) across cores. Unlike <c>Parallel.For</c> on the shared thread pool, a part handed to a worker is guaranteed
/// to run beside the caller's part rather than after it (the pool may let the caller take every iteration when no
/// worker is awake yet).
/// </summary>
/// <remarks>
/// <para>One parallel region runs at a time. A caller that finds the workers busy (another thread's region) gets
/// false and runs its parts itself, which is the right thing when the cores are already busy. Work that is already
/// inside a region (a part running on the caller's thread or on a worker) also gets false, so nested parallel work,
/// e.g. a GEMM inside a convolution's part, runs inline on the thread of its part instead of re-entering the
/// workers.</para>
/// <para>The job fields (<c>s_body</c>, <c>s_remaining</c>, <c>s_error</c>) are written only by the thread that won
/// <c>s_busy</c>, before it starts the workers, and read by the workers only until they report done, so a region's
/// state can never be overwritten by another caller.</para>
/// </remarks>
internal static class GemmWorkers
{
    [ThreadStatic] private static bool t_inRegion;
    private static int s_busy;   // 1 while a region holds the workers
    private static readonly ManualResetEventSlim s_done = new(false, spinCount: 2000);
    private static Worker[] s_workers = [];
    private static Action<int>? s_body;
    private static int s_remaining;
    private static Exception? s_error;
    private static long s_regionAllocated;                     // bytes the workers allocated in the running region
    [ThreadStatic] private static long t_workerAllocated;     // ... in the regions this thread started, in total

    /// <summary>
    /// Bytes the workers have allocated while running parts of the regions the calling thread started, in total
    /// since the thread started: with the thread's own count (<see cref="GC.GetAllocatedBytesForCurrentThread"/>),
    /// what this thread's parallel work allocated, exactly, whatever other threads of the process do (tests of
    /// allocation-free steps read it). A region another thread starts counts for that thread, not this one.
    /// </summary>
    public static long WorkerAllocatedBytes => t_workerAllocated;

    /// <summary>True on a thread that is running a part of a parallel region (where nested work runs inline).</summary>
    public static bool InRegion => t_inRegion;

    /// <summary>
    /// Runs <paramref name="body"/>(0 … parts−1) concurrently, part 0 on the calling thread, and returns true; or
    /// returns false without running anything when <paramref name="parts"/> is below 2, when the calling thread is
    /// already inside a region, or when another region holds the workers.
    /// </summary>
    public static bool TryRun(int parts, Action<int> body)
    {
        if (parts < 2 || t_inRegion || Interlocked.CompareExchange(ref s_busy, 1, 0) != 0) return false;
        try
        {
            EnsureWorkers(parts - 1);
            s_body = body;
            s_error = null;
            s_regionAllocated = 0;
            s_remaining = parts - 1;
            s_done.Reset();
            for (int w = 0; w < parts - 1; w++) s_workers[w].Start(w + 1);
            t_inRegion = true;
            try { body(0); }
            catch (Exception e) { Interlocked.CompareExchange(ref s_error, e, null); }
            finally { t_inRegion = false; }
            s_done.Wait();
            t_workerAllocated += Interlocked.Read(ref s_regionAllocated);
            s_body = null;
            if (s_error is { } error) ExceptionDispatchInfo.Throw(error);
            return true;
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/>(0 … parts−1): concurrently when the workers are free (see
    /// <see cref="TryRun"/>), else one after the other on the calling thread. Either way every part runs once.
    /// </summary>
    public static void Run(int parts, Action<int> body)
    {
        if (TryRun(parts, body)) return;
        for (int p = 0; p < parts; p++) body(p);
    }

    /// <summary>
    /// <see cref="Run(int, Action{int})"/> for work held in a struct (<paramref name="job"/>'s fields are the arguments
    /// a closure would capture): nothing is allocated per call. The job is copied into this thread's holder for the
    /// region and cleared after it; nested calls from inside a region run inline on their own copy.
    /// </summary>
    public static void Run<TJob>(int parts, in TJob job) where TJob : struct, IPartJob
    {
        if (parts >= 2 && !t_inRegion)
        {
            var holder = JobHolder<TJob>.ForThisThread;
            holder.Job = job;
            try
            {
                if (TryRun(parts, holder.Body)) return;
            }
            finally { holder.Job = default; }
        }
        for (int p = 0; p < parts; p++) job.Run(p);
    }

    // One per thread and job type: the job of the region this thread runs, and the delegate the workers call.
    private sealed class JobHolder<TJob> where TJob : struct, IPartJob
    {
        [ThreadStatic] private static JobHolder<TJob>? t_holder;
        public TJob Job;
        public readonly Action<int> Body;

        private JobHolder() => Body = part => Job.Run(part);

        public static JobHolder<TJob> ForThisThread => t_holder ??= new();
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
            t_inRegion = true;   // a worker only ever runs parts of a region
            while (true)
            {
                _go.Wait();
                _go.Reset();
                Exception? error = null;
                long before = GC.GetAllocatedBytesForCurrentThread();
                try { s_body!(_part); }
                catch (Exception e) { error = e; }
                // Counted before Finished, so the caller sees it once its region returns.
                if (GC.GetAllocatedBytesForCurrentThread() - before is var allocated and not 0) Interlocked.Add(ref s_regionAllocated, allocated);
                Finished(error);
            }
        }
    }
}

/// <summary>Parallel work as a struct: its fields are the arguments, <see cref="Run"/> does part <c>part</c> of them.</summary>
internal interface IPartJob
{
    /// <summary>Does part <paramref name="part"/>; parts run concurrently and must not write the same memory.</summary>
    void Run(int part);
}
