using Backprop.Kernels;

namespace Backprop.Tests;

/// <summary>
/// Bytes a piece of work allocates: on the calling thread and on the library's worker threads (which run the other
/// parts of every parallel region), exactly, whatever the test host's own threads allocate meanwhile. Tests that use
/// it run alone (their collection disables parallelization), so no other test's region adds to the workers' count.
/// </summary>
internal static class AllocationCount
{
    /// <summary>Runs <paramref name="work"/> and returns the bytes it allocated on this thread and the workers.</summary>
    public static long Of(Action work)
    {
        // The workers' count first: its first read runs the worker pool's static initialiser, whose 64 bytes would
        // otherwise land inside the measurement of a test that runs alone.
        long workers = GemmWorkers.WorkerAllocatedBytes, thread = GC.GetAllocatedBytesForCurrentThread();
        work();
        return GC.GetAllocatedBytesForCurrentThread() - thread + GemmWorkers.WorkerAllocatedBytes - workers;
    }

    /// <summary>
    /// The fewest bytes <paramref name="work"/> allocated on this thread in three tries: the runtime's recompilation of
    /// a hot method at a higher tier can allocate on the calling thread in one of them (a full CI run once saw 6,568
    /// bytes so), while an allocation by the work itself would show in every one.
    /// </summary>
    public static long FewestOnThisThread(Action work)
    {
        long fewest = long.MaxValue;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            work();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }
}
