namespace Backprop.Kernels;

/// <summary>
/// Batch-1 y = x·W with W's columns split over cores. A W larger than one core's L2 leaves a lone GEMV bound by how
/// fast one core streams W from L3 or memory; two cores each stream half of it.
/// </summary>
/// <remarks>
/// The split is at multiples of a block of eight vectors, so each part keeps the register-blocked path, and every
/// column's sum is the same sequence of operations whichever part computes it: the result does not depend on the
/// thread count. The job's arguments live in a per-thread object (pointers to the caller's pinned data, which stays
/// pinned while the caller waits for the parts), so a call allocates nothing. When the workers are busy, or the call
/// is already inside a parallel region, it returns false and the caller runs the whole product itself.
/// </remarks>
internal sealed unsafe class GemvParallel
{
    // Below this many weights read (non-zero rows × columns, 1 MB of floats) one core is faster than two: W stays in
    // its L2 between calls, and waking a worker and waiting for it costs more than the half it saves. Measured on a
    // 2-core Zen 5 (1 MB L2): the reference MLP's 784×256 first layer, about 100 K weights read for a Fashion-MNIST
    // image, took 5.7 µs per prediction on one core and 9.5 µs split over two; a 1024×1024 layer (512 K weights read)
    // gained 8% from the split, a 2048×2048 one 24%.
    private const long MinWeights = 1 << 18;

    [ThreadStatic] private static GemvParallel? t_job;

    private readonly Action<int> body;
    private float* y, x, w;
    private int* rows;
    private int count, n, parts, block;
    private SimdWidth width;

    private GemvParallel() => body = Part;

    /// <summary>
    /// Runs y[0, n) = Σ over the count rows listed at <paramref name="rowList"/> on up to <paramref name="threads"/>
    /// cores and returns true, or returns false without computing anything when one core should do it.
    /// </summary>
    public static bool TryRun(float* y, float* x, float* w, int* rowList, int count, int n, SimdWidth width, int threads)
    {
        int block = 8 * Lanes(width);
        int parts = Math.Min(threads, n / block);
        if (parts < 2 || (long)count * n < MinWeights) return false;
        var job = t_job ??= new GemvParallel();
        job.y = y;
        job.x = x;
        job.w = w;
        job.rows = rowList;
        (job.count, job.n, job.parts, job.block, job.width) = (count, n, parts, block, width);
        return GemmWorkers.TryRun(parts, job.body);
    }

    // Part p takes columns [start(p), start(p + 1)): equal shares rounded to whole blocks, the last part to n.
    private void Part(int part)
    {
        int blocks = n / block;
        int j0 = blocks * part / parts * block;
        int j1 = part == parts - 1 ? n : blocks * (part + 1) / parts * block;
        DenseKernels.GemvColumns(y, x, w, rows, count, n, j0, j1, width);
    }

    private static int Lanes(SimdWidth width) => width switch
    {
        SimdWidth.Vector512 => 16,
        SimdWidth.Vector256 => 8,
        SimdWidth.Vector128 => 4,
        _ => 1,
    };
}
