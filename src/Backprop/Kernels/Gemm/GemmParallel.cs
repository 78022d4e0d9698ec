namespace Backprop.Kernels;

/// <summary>
/// Splits C into one block of whole register tiles per thread, along n or m (whichever has more tiles), and runs the
/// driver on each block. Blocks never share output, and k is never split, so results are identical for any thread
/// count. Problems too small to repay waking a thread stay on the caller's thread.
/// </summary>
/// <remarks>
/// With a bias row, each part first sets its own block of C to the bias (C[i, j] = bias[j]) and then accumulates: the
/// same arithmetic as presetting all of C before the product, but the preset runs in parallel and each block is
/// written by the core that goes on to read it.
/// </remarks>
internal static unsafe class GemmParallel
{
    // ~4 MFLOP per thread (≈20 µs of one core): below this, waking a worker thread costs more than it saves.
    private const long MinFlopsPerThread = 1L << 22;

    public static void Run<TK>(int threads, float* c, nint ldc, float* a, nint rsA, nint csA, float* b, nint rsB, nint csB,
        int m, int n, int k, bool accumulate, float* bias = null) where TK : struct, IMicroKernel
    {
        int mTiles = (m + TK.MR - 1) / TK.MR, nTiles = (n + TK.NR - 1) / TK.NR;
        bool splitN = nTiles >= mTiles;
        long flops = 2L * m * n * k;
        int parts = (int)Math.Min(Math.Min(threads, splitN ? nTiles : mTiles), Math.Max(1, flops / MinFlopsPerThread));
        // Inside another parallel region (a convolution's part, an optimizer's slice) the cores are already busy:
        // run inline rather than re-enter the workers.
        if (parts <= 1 || GemmWorkers.InRegion)
        {
            RunBlock<TK>(c, ldc, a, rsA, csA, b, rsB, csB, m, n, k, accumulate, bias);
            return;
        }

        // This thread's job, allocated once per thread and kernel type: no allocation per call, and concurrent
        // callers never share one. A caller that finds the workers busy runs the whole product on its own thread.
        var job = Job<TK>.ForThisThread;
        job.C = c; job.A = a; job.B = b;
        (job.Ldc, job.RsA, job.CsA, job.RsB, job.CsB) = (ldc, rsA, csA, rsB, csB);
        (job.M, job.N, job.K, job.Accumulate) = (m, n, k, accumulate);
        job.Bias = bias;
        (job.SplitN, job.Parts, job.Tiles) = (splitN, parts, splitN ? nTiles : mTiles);
        if (GemmWorkers.TryRun(parts, job.RunPart)) return;
        RunBlock<TK>(c, ldc, a, rsA, csA, b, rsB, csB, m, n, k, accumulate, bias);
    }

    // C[m, n] (+)= op(A)·op(B) on this thread; with a bias row (n floats), C is first set to it on every row and the
    // product added.
    private static void RunBlock<TK>(float* c, nint ldc, float* a, nint rsA, nint csA, float* b, nint rsB, nint csB,
        int m, int n, int k, bool accumulate, float* bias) where TK : struct, IMicroKernel
    {
        if (bias != null)
        {
            var row = new ReadOnlySpan<float>(bias, n);
            for (int i = 0; i < m; i++) row.CopyTo(new Span<float>(c + i * ldc, n));
            accumulate = true;
        }
        GemmDriver<TK>.Run(c, ldc, a, rsA, csA, b, rsB, csB, m, n, k, accumulate);
    }

    // One thread's share: tiles [part·T/P, (part+1)·T/P) of the split dimension.
    private sealed class Job<TK> where TK : struct, IMicroKernel
    {
        [ThreadStatic] private static Job<TK>? t_job;
        private readonly Action<int> _runPart;

        private Job() => _runPart = Run;

        public static Job<TK> ForThisThread => t_job ??= new Job<TK>();

        public Action<int> RunPart => _runPart;

        public float* C, A, B, Bias;
        public nint Ldc, RsA, CsA, RsB, CsB;
        public int M, N, K, Parts, Tiles;
        public bool Accumulate, SplitN;

        private void Run(int part)
        {
            int t0 = (int)((long)part * Tiles / Parts), t1 = (int)((long)(part + 1) * Tiles / Parts);
            if (SplitN)
            {
                int j0 = t0 * TK.NR, j1 = Math.Min(N, t1 * TK.NR);
                RunBlock<TK>(C + j0, Ldc, A, RsA, CsA, B + j0 * CsB, RsB, CsB, M, j1 - j0, K, Accumulate, Bias == null ? null : Bias + j0);
            }
            else
            {
                int i0 = t0 * TK.MR, i1 = Math.Min(M, t1 * TK.MR);
                RunBlock<TK>(C + i0 * Ldc, Ldc, A + i0 * RsA, RsA, CsA, B, RsB, CsB, i1 - i0, N, K, Accumulate, Bias);
            }
        }
    }
}
