using System.Numerics.Tensors;

namespace Backprop.Kernels;

/// <summary>
/// Row-wise normalisation kernels for LayerNorm and RMSNorm: x [rows, d] normalised over each row of d values.
/// Forward writes y and the per-row statistics the backward needs (μ and 1/σ, or 1/rms); no allocation.
/// </summary>
/// <remarks>
/// Large inputs split across cores (<see cref="Parts"/>): the forward and ∂L/∂x by rows, each row computed exactly
/// as on one thread; ∂L/∂γ and ∂L/∂β, which sum over rows, by columns, each column summed over all rows in order.
/// Every value is therefore the same sequence of operations whatever the split, and the results do not depend on
/// the thread count. A transformer's norms ([768, 128] for the GPT preset) had run on one core while the other
/// waited.
/// </remarks>
internal static unsafe class LayerNormKernels
{
    // rows·d below this stay on the calling thread: a [64, 128] norm takes a few µs, less than a hand-off.
    private const long ParallelMinFloats = 1 << 15;

    // Column ranges of the γ/β sums start at multiples of this many floats (whole 512-bit vectors).
    private const int ColumnGranule = 16;

    /// <summary>
    /// How many parts (threads) a norm of x [rows, d] splits into: 1 for small inputs or inside a parallel region.
    /// </summary>
    public static int Parts(int rows, int d)
    {
        if (GemmWorkers.InRegion || rows < 2) return 1;
        long parts = (long)rows * d / ParallelMinFloats;
        return (int)Math.Clamp(parts, 1, Math.Min(Gemm.MaxThreads, rows));
    }

    /// <summary>Floats of scratch <see cref="Backward"/> needs for x [rows, d]: 2·d on one thread, more to split.</summary>
    public static int BackwardScratchLength(int rows, int d)
    {
        int parts = Parts(rows, d);
        return parts < 2 ? 2 * d : parts * PartStride(d);
    }

    // One part's scratch when split: x̂ and ĝ of a row (d each), then x̂ of its columns and their private γ and β sums
    // (≤ d each), and a cache line of padding, so that no two cores ever write the same line in the row loops (sharing
    // one made a split backward 3x slower than one thread).
    private static int PartStride(int d) => 5 * d + 16;

    /// <summary>
    /// LayerNorm: μ = mean(x), rstd = 1/√(mean((x − μ)²) + ε), y = (x − μ)·rstd·γ + β per row (γ, β may be empty: 1, 0).
    /// </summary>
    public static void Forward(Span<float> y, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> x,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, int rows, int d, float eps)
    {
        int parts = Parts(rows, d);
        if (parts < 2)
        {
            ForwardRows(y, mean, rstd, x, gamma, beta, 0, rows, d, eps);
            return;
        }
        fixed (float* py = y, pm = mean, ps = rstd, px = x, pg = gamma, pb = beta)
        {
            var job = new ForwardJob { Y = py, Mean = pm, Rstd = ps, X = px, Gamma = pg, Beta = pb, Rows = rows, D = d, Eps = eps, Parts = parts };
            GemmWorkers.Run(parts, in job);
        }
    }

    // Rows [r0, r1) of the forward.
    private static void ForwardRows(Span<float> y, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> x,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, int r0, int r1, int d, float eps)
    {
        for (int r = r0; r < r1; r++)
        {
            var xr = x.Slice(r * d, d);
            var yr = y.Slice(r * d, d);
            float mu = TensorPrimitives.Sum(xr) / d;
            TensorPrimitives.Subtract(xr, mu, yr);
            float var = TensorPrimitives.SumOfSquares(yr) / d;
            float s = 1f / MathF.Sqrt(var + eps);
            mean[r] = mu;
            rstd[r] = s;
            TensorPrimitives.Multiply(yr, s, yr);
            if (!gamma.IsEmpty) TensorPrimitives.Multiply(yr, gamma, yr);
            if (!beta.IsEmpty) TensorPrimitives.Add(yr, beta, yr);
        }
    }

    /// <summary>
    /// LayerNorm backward: with x̂ = (x − μ)·rstd and ĝ = g·γ, ∂L/∂x = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)); also
    /// ∂L/∂γ += Σ_rows g·x̂ and ∂L/∂β += Σ_rows g (skipped when their spans are empty). dx may be empty (no input gradient).
    /// <paramref name="scratch"/> holds at least 2·d floats; with <see cref="BackwardScratchLength"/> floats a large
    /// input splits across cores. For RMSNorm (<paramref name="centre"/> false) μ is not subtracted and mean(ĝ) not either.
    /// </summary>
    public static void Backward(Span<float> dx, Span<float> dGamma, Span<float> dBeta, ReadOnlySpan<float> g,
        ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> gamma,
        int rows, int d, Span<float> scratch, bool centre = true)
    {
        int parts = Math.Min(Parts(rows, d), scratch.Length / PartStride(d));
        if (parts < 2)
        {
            InputGradientRows(dx, g, x, mean, rstd, gamma, 0, rows, d, scratch, centre);
            SumAffineGradients(dGamma, dBeta, g, x, mean, rstd, rows, d, 0, d, scratch[..d], centre);
            return;
        }
        fixed (float* pdx = dx, pdg = dGamma, pdb = dBeta, pg = g, px = x, pm = mean, ps = rstd, pga = gamma, psc = scratch)
        {
            var job = new BackwardJob
            {
                Dx = pdx, DGamma = pdg, DBeta = pdb, G = pg, X = px, Mean = pm, Rstd = ps, Gamma = pga, Scratch = psc,
                Centre = centre, Rows = rows, D = d, Parts = parts,
            };
            GemmWorkers.Run(parts, in job);
        }
    }

    // x̂ = (x_r − μ_r)·rstd_r (without μ for RMSNorm), into xhat.
    private static void Normalised(Span<float> xhat, ReadOnlySpan<float> xr, float mu, float s, bool centre)
    {
        if (centre) TensorPrimitives.Subtract(xr, mu, xhat);
        else xr.CopyTo(xhat);
        TensorPrimitives.Multiply(xhat, s, xhat);
    }

    // ∂L/∂x for rows [r0, r1); scratch holds 2·d floats.
    private static void InputGradientRows(Span<float> dx, ReadOnlySpan<float> g, ReadOnlySpan<float> x, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> rstd, ReadOnlySpan<float> gamma, int r0, int r1, int d, Span<float> scratch, bool centre)
    {
        if (dx.IsEmpty) return;
        var xhat = scratch[..d];
        var ghat = scratch.Slice(d, d);
        for (int r = r0; r < r1; r++)
        {
            var gr = g.Slice(r * d, d);
            Normalised(xhat, x.Slice(r * d, d), centre ? mean[r] : 0f, rstd[r], centre);
            if (gamma.IsEmpty) gr.CopyTo(ghat);
            else TensorPrimitives.Multiply(gr, gamma, ghat);
            float meanG = centre ? TensorPrimitives.Sum(ghat) / d : 0f;
            float meanGx = TensorPrimitives.Dot(ghat, xhat) / d;
            var dxr = dx.Slice(r * d, d);
            // dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))
            TensorPrimitives.Multiply(xhat, -meanGx, dxr);
            TensorPrimitives.Add(dxr, ghat, dxr);
            TensorPrimitives.Subtract(dxr, meanG, dxr);
            TensorPrimitives.Multiply(dxr, rstd[r], dxr);
        }
    }

    // Part of a split backward: ∂L/∂γ and ∂L/∂β over columns [c0, c1), summed in this part's scratch (3·(c1 − c0)
    // floats: x̂ and the two sums) and copied out at the end, so that the row loop writes no line another core writes.
    private static void PrivateAffineGradients(Span<float> dGamma, Span<float> dBeta, ReadOnlySpan<float> g, ReadOnlySpan<float> x,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int rows, int d, int c0, int c1, Span<float> scratch, bool centre)
    {
        int w = c1 - c0;
        if (w <= 0) return;
        var dg = dGamma.IsEmpty ? dGamma : dGamma.Slice(c0, w);
        var db = dBeta.IsEmpty ? dBeta : dBeta.Slice(c0, w);
        var sumG = dg.IsEmpty ? dg : scratch.Slice(w, w);
        var sumB = db.IsEmpty ? db : scratch.Slice(2 * w, w);
        dg.CopyTo(sumG);
        db.CopyTo(sumB);
        SumAffineGradients(sumG, sumB, g, x, mean, rstd, rows, d, c0, c1, scratch[..w], centre);
        sumG.CopyTo(dg);
        sumB.CopyTo(db);
    }

    // ∂L/∂γ[c0, c1) += Σ_r g·x̂ and ∂L/∂β[c0, c1) += Σ_r g over all rows in order, into dg and db (c1 − c0 floats
    // each, or empty to skip); xhat holds c1 − c0 floats.
    private static void SumAffineGradients(Span<float> dg, Span<float> db, ReadOnlySpan<float> g, ReadOnlySpan<float> x,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int rows, int d, int c0, int c1, Span<float> xhat, bool centre)
    {
        if (dg.IsEmpty && db.IsEmpty) return;
        int w = c1 - c0;
        for (int r = 0; r < rows; r++)
        {
            var gr = g.Slice(r * d + c0, w);
            if (!dg.IsEmpty)
            {
                Normalised(xhat, x.Slice(r * d + c0, w), centre ? mean[r] : 0f, rstd[r], centre);
                TensorPrimitives.FusedMultiplyAdd(gr, xhat, dg, dg);
            }
            if (!db.IsEmpty) TensorPrimitives.Add(db, gr, db);
        }
    }

    // The span a pinned pointer stands for: an empty span pins to null, so null is empty again.
    private static Span<float> Of(float* p, int length) => p == null ? [] : new Span<float>(p, length);

    // The forward's pointers, pinned by the caller for the region.
    private struct ForwardJob : IPartJob
    {
        public float* Y, Mean, Rstd, X, Gamma, Beta;
        public int Rows, D, Parts;
        public float Eps;

        public readonly void Run(int part)
        {
            var (r0, r1) = PartRange.Of(Rows, Parts, part);
            int n = Rows * D;
            ForwardRows(Of(Y, n), Of(Mean, Rows), Of(Rstd, Rows), Of(X, n), Of(Gamma, D), Of(Beta, D), r0, r1, D, Eps);
        }
    }

    // The backward's pointers, pinned by the caller for the region; a null one is an empty span (no such gradient).
    private struct BackwardJob : IPartJob
    {
        public float* Dx, DGamma, DBeta, G, X, Mean, Rstd, Gamma, Scratch;
        public bool Centre;
        public int Rows, D, Parts;

        public readonly void Run(int part)
        {
            int n = Rows * D;
            var scratch = new Span<float>(Scratch + (long)part * PartStride(D), PartStride(D));
            Span<float> g = Of(G, n), x = Of(X, n), mean = Of(Mean, Rows), rstd = Of(Rstd, Rows);
            var (r0, r1) = PartRange.Of(Rows, Parts, part);
            InputGradientRows(Of(Dx, n), g, x, mean, rstd, Of(Gamma, D), r0, r1, D, scratch, Centre);
            var (c0, c1) = PartRange.Of(D, Parts, part, ColumnGranule);
            PrivateAffineGradients(Of(DGamma, D), Of(DBeta, D), g, x, mean, rstd, Rows, D, c0, c1, scratch[(2 * D)..], Centre);
        }
    }

    /// <summary>RMSNorm: rrms = 1/√(mean(x²) + ε), y = x·rrms·γ per row (γ may be empty: 1).</summary>
    public static void RmsForward(Span<float> y, Span<float> rrms, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, int rows, int d, float eps)
    {
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * d, d);
            var yr = y.Slice(r * d, d);
            float s = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(xr) / d + eps);
            rrms[r] = s;
            TensorPrimitives.Multiply(xr, s, yr);
            if (!gamma.IsEmpty) TensorPrimitives.Multiply(yr, gamma, yr);
        }
    }
}
