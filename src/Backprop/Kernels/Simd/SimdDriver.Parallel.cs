namespace Backprop.Kernels;

/// <summary>
/// Long element-wise maps split over the cores. An exact GELU or its gradient over a GPT's [768, 512] activations
/// costs hundreds of microseconds of exponentials and divisions on one core while the other waits for the next GEMM;
/// cut into ranges, each core maps its own. Every element is computed by the same operations whichever range holds
/// it (a lane computes what the scalar operator computes), so the result has the same bits as one call.
/// </summary>
internal static partial class SimdDriver
{
    // Maps shorter than this run on the calling thread: 64 K floats (256 KB) of even the cheapest operator take longer
    // than handing half to a worker; a GELU over them takes about 25 µs.
    internal const int ParallelMinLength = 1 << 16;

    // Ranges start at multiples of this many floats, so every part but the last runs whole 512-bit vectors only.
    private const int Granule = 64;

    private static unsafe bool TrySplit<TOp>(Span<float> d, ReadOnlySpan<float> x, SimdWidth width) where TOp : struct, IUnaryOperator
    {
        int parts = Parts(d.Length);
        if (parts < 2) return false;
        fixed (float* pd = d, px = x) return UnaryJob<TOp>.TryRun(pd, px, d.Length, parts, width);
    }

    private static unsafe bool TrySplit<TOp>(Span<float> d, ReadOnlySpan<float> x, ReadOnlySpan<float> y, SimdWidth width) where TOp : struct, IBinaryOperator
    {
        int parts = Parts(d.Length);
        if (parts < 2) return false;
        fixed (float* pd = d, px = x, py = y) return BinaryJob<TOp>.TryRun(pd, px, py, d.Length, parts, width);
    }

    private static int Parts(int length) =>
        GemmWorkers.InRegion ? 1 : Math.Min(Gemm.MaxThreads, length / (ParallelMinLength / 2));

    // Part p of `parts` over n floats: [start, start + count), starts at multiples of Granule, the last part to n.
    private static (int Start, int Count) Range(int n, int parts, int p)
    {
        var (start, end) = PartRange.Of(n, parts, p, Granule);
        return (start, end - start);
    }

    // A thread's job for one operator: its arguments live here (pointers to the caller's data, pinned while the caller
    // waits for the parts) and its body delegate is made once, so a split map allocates nothing.
    private sealed unsafe class UnaryJob<TOp> where TOp : struct, IUnaryOperator
    {
        [ThreadStatic] private static UnaryJob<TOp>? t_job;
        private readonly Action<int> body;
        private float* d, x;
        private int n, parts;
        private SimdWidth width;

        private UnaryJob() => body = Part;

        public static bool TryRun(float* d, float* x, int n, int parts, SimdWidth width)
        {
            var job = t_job ??= new UnaryJob<TOp>();
            job.d = d;
            job.x = x;
            (job.n, job.parts, job.width) = (n, parts, width);
            return GemmWorkers.TryRun(parts, job.body);
        }

        private void Part(int p)
        {
            var (start, count) = Range(n, parts, p);
            Core<TOp>(ref d[start], ref x[start], (nuint)count, width);
        }
    }

    private sealed unsafe class BinaryJob<TOp> where TOp : struct, IBinaryOperator
    {
        [ThreadStatic] private static BinaryJob<TOp>? t_job;
        private readonly Action<int> body;
        private float* d, x, y;
        private int n, parts;
        private SimdWidth width;

        private BinaryJob() => body = Part;

        public static bool TryRun(float* d, float* x, float* y, int n, int parts, SimdWidth width)
        {
            var job = t_job ??= new BinaryJob<TOp>();
            job.d = d;
            job.x = x;
            job.y = y;
            (job.n, job.parts, job.width) = (n, parts, width);
            return GemmWorkers.TryRun(parts, job.body);
        }

        private void Part(int p)
        {
            var (start, count) = Range(n, parts, p);
            Core<TOp>(ref d[start], ref x[start], ref y[start], (nuint)count, width);
        }
    }
}
