using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// Batch normalisation, forward and backward, over x viewed as [N, C, S]: N samples, C channels, S positions per
/// channel (S = 1 for [N, F] features, H·W for [N, C, H, W] images). Every channel c is normalised over its
/// M = N·S values. Spans in, spans out; no allocation, no autograd. The statistics and parameter gradients sum in
/// double, one value after another; the element-wise passes (affine, both backwards) run at <see cref="Simd.Width"/>.
/// </summary>
internal static class BatchNormKernels
{
    /// <summary>
    /// mean[c] = Σ x / M and the biased variance var[c] = Σ (x − mean[c])² / M, in two passes accumulated in
    /// double (one pass of Σx² − M·mean² cancels catastrophically when |mean| ≫ std).
    /// </summary>
    public static void Statistics(Span<float> mean, Span<float> variance, ReadOnlySpan<float> x, int n, int c, int s)
    {
        long m = (long)n * s;
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++)
                foreach (var v in x.Slice((i * c + ch) * s, s)) sum += v;
            double mu = sum / m, sq = 0;
            for (int i = 0; i < n; i++)
                foreach (var v in x.Slice((i * c + ch) * s, s)) { double d = v - mu; sq += d * d; }
            mean[ch] = (float)mu;
            variance[ch] = (float)(sq / m);
        }
    }

    /// <summary>invStd[c] = 1 / √(var[c] + ε), computed in double.</summary>
    public static void InverseStd(Span<float> invStd, ReadOnlySpan<float> variance, float eps)
    {
        for (int ch = 0; ch < invStd.Length; ch++) invStd[ch] = (float)(1.0 / Math.Sqrt((double)variance[ch] + eps));
    }

    /// <summary>
    /// Folds normalisation and the affine transform into one scale and shift per channel:
    /// y = γ·(x − μ)·invStd + β = x·scale + shift, scale = γ·invStd, shift = β − μ·scale. An empty γ means 1, an
    /// empty β means 0 (a layer without affine parameters).
    /// </summary>
    public static void ScaleShift(Span<float> scale, Span<float> shift, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta)
    {
        for (int ch = 0; ch < scale.Length; ch++)
        {
            float a = gamma.IsEmpty ? invStd[ch] : gamma[ch] * invStd[ch];
            scale[ch] = a;
            shift[ch] = (beta.IsEmpty ? 0f : beta[ch]) - mean[ch] * a;
        }
    }

    /// <summary>y = x·scale[c] + shift[c] for every value of channel c; y may be x (in place).</summary>
    public static void Affine(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, int n, int c, int s) =>
        Affine(y, x, scale, shift, n, c, s, Simd.Width);

    /// <summary><see cref="Affine(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int)"/> at a given width.</summary>
    internal static void Affine(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, int n, int c, int s, SimdWidth width)
    {
        if (s == 1)
        {
            // Features [N, C]: each row is one value per channel, so whole rows go through the vectors.
            for (int i = 0; i < n; i++)
                SimdDriver.Map<MultiplyAddOperator>(y.Slice(i * c, c), x.Slice(i * c, c), scale[..c], shift[..c], width);
            return;
        }
        for (int i = 0; i < n; i++)
        {
            for (int ch = 0; ch < c; ch++)
            {
                int at = (i * c + ch) * s;
                SimdDriver.Map<MultiplyAddOperator>(y.Slice(at, s), x.Slice(at, s), scale[ch], shift[ch], width);
            }
        }
    }

    /// <summary>
    /// Per-channel sums of the upstream gradient g: dβ[c] = Σ g and dγ[c] = Σ g·x̂ with x̂ = (x − μ)·invStd, in
    /// double. These are the parameter gradients, and the two corrections the batch-statistics backward needs.
    /// </summary>
    public static void ParameterGradients(Span<float> dGamma, Span<float> dBeta, ReadOnlySpan<float> g, ReadOnlySpan<float> x,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, int n, int c, int s)
    {
        for (int ch = 0; ch < c; ch++)
        {
            double sumG = 0, sumGx = 0;
            float mu = mean[ch];
            for (int i = 0; i < n; i++)
            {
                int at = (i * c + ch) * s;
                var gs = g.Slice(at, s);
                var xs = x.Slice(at, s);
                for (int k = 0; k < gs.Length; k++) { sumG += gs[k]; sumGx += (double)gs[k] * (xs[k] - mu); }
            }
            dBeta[ch] = (float)sumG;
            dGamma[ch] = (float)(sumGx * invStd[ch]);
        }
    }

    /// <summary>
    /// ∂L/∂x when μ and σ² are the batch's own statistics (training mode). With x̂ = (x − μ)·invStd and
    /// y = γ·x̂ + β, differentiating through μ and σ² as well gives the closed form
    /// <c>dx = γ·invStd·(g − dβ/M − x̂·dγ/M)</c>, where dβ = Σ g and dγ = Σ g·x̂ over the channel's M values.
    /// </summary>
    public static void BackwardTraining(Span<float> dx, ReadOnlySpan<float> g, ReadOnlySpan<float> x, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma, ReadOnlySpan<float> dGamma, ReadOnlySpan<float> dBeta, int n, int c, int s) =>
        BackwardTraining(dx, g, x, mean, invStd, gamma, dGamma, dBeta, n, c, s, Simd.Width);

    /// <summary>
    /// <see cref="BackwardTraining(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int)"/>
    /// at a given width.
    /// </summary>
    internal static void BackwardTraining(Span<float> dx, ReadOnlySpan<float> g, ReadOnlySpan<float> x, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma, ReadOnlySpan<float> dGamma, ReadOnlySpan<float> dBeta, int n, int c, int s, SimdWidth width)
    {
        float invM = 1f / ((float)n * s);
        for (int ch = 0; ch < c; ch++)
        {
            // dx = k·(g − meanG) − k·invStd·(dγ/M)·(x − μ), with k = γ·invStd.
            float k = (gamma.IsEmpty ? 1f : gamma[ch]) * invStd[ch];
            float meanG = dBeta[ch] * invM;
            float slope = invStd[ch] * dGamma[ch] * invM;
            float mu = mean[ch];
            for (int i = 0; i < n; i++)
            {
                int at = (i * c + ch) * s;
                var gs = g.Slice(at, s);
                var xs = x.Slice(at, s);
                var ds = dx.Slice(at, s);
                int j = 0;
                ref float gr = ref MemoryMarshal.GetReference(gs);
                ref float xr = ref MemoryMarshal.GetReference(xs);
                ref float dr = ref MemoryMarshal.GetReference(ds);
                var cs = new TrainingConstants(k, meanG, slope, mu);
                if (width >= SimdWidth.Vector512) j = BackwardTraining512(ref dr, ref gr, ref xr, j, s, cs);
                if (width >= SimdWidth.Vector256) j = BackwardTraining256(ref dr, ref gr, ref xr, j, s, cs);
                if (width >= SimdWidth.Vector128) j = BackwardTraining128(ref dr, ref gr, ref xr, j, s, cs);
                for (; j < gs.Length; j++) ds[j] = k * (gs[j] - meanG - slope * (xs[j] - mu));
            }
        }
    }

    /// <summary>∂L/∂x when μ and σ² are fixed running statistics (evaluation mode): dx = g·γ·invStd.</summary>
    public static void BackwardFrozen(Span<float> dx, ReadOnlySpan<float> g, ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma, int n, int c, int s) =>
        BackwardFrozen(dx, g, invStd, gamma, n, c, s, Simd.Width);

    /// <summary><see cref="BackwardFrozen(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int)"/> at a given width.</summary>
    internal static void BackwardFrozen(Span<float> dx, ReadOnlySpan<float> g, ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma, int n, int c, int s, SimdWidth width)
    {
        for (int i = 0; i < n; i++)
        {
            for (int ch = 0; ch < c; ch++)
            {
                int at = (i * c + ch) * s;
                float k = (gamma.IsEmpty ? 1f : gamma[ch]) * invStd[ch];
                SimdDriver.Map<MultiplyOperator>(dx.Slice(at, s), g.Slice(at, s), k, width);
            }
        }
    }

    // One channel's constants of dx = k·(g − meanG − slope·(x − μ)), broadcast once per run by the vector paths.
    private readonly record struct TrainingConstants(float K, float MeanG, float Slope, float Mu);

    private static int BackwardTraining512(ref float dr, ref float gr, ref float xr, int j, int n, in TrainingConstants c)
    {
        Vector512<float> k = Vector512.Create(c.K), meanG = Vector512.Create(c.MeanG), slope = Vector512.Create(c.Slope), mu = Vector512.Create(c.Mu);
        for (; j + 16 <= n; j += 16)
            (k * (Vector512.LoadUnsafe(ref gr, (nuint)j) - meanG - slope * (Vector512.LoadUnsafe(ref xr, (nuint)j) - mu))).StoreUnsafe(ref dr, (nuint)j);
        return j;
    }

    private static int BackwardTraining256(ref float dr, ref float gr, ref float xr, int j, int n, in TrainingConstants c)
    {
        Vector256<float> k = Vector256.Create(c.K), meanG = Vector256.Create(c.MeanG), slope = Vector256.Create(c.Slope), mu = Vector256.Create(c.Mu);
        for (; j + 8 <= n; j += 8)
            (k * (Vector256.LoadUnsafe(ref gr, (nuint)j) - meanG - slope * (Vector256.LoadUnsafe(ref xr, (nuint)j) - mu))).StoreUnsafe(ref dr, (nuint)j);
        return j;
    }

    private static int BackwardTraining128(ref float dr, ref float gr, ref float xr, int j, int n, in TrainingConstants c)
    {
        Vector128<float> k = Vector128.Create(c.K), meanG = Vector128.Create(c.MeanG), slope = Vector128.Create(c.Slope), mu = Vector128.Create(c.Mu);
        for (; j + 4 <= n; j += 4)
            (k * (Vector128.LoadUnsafe(ref gr, (nuint)j) - meanG - slope * (Vector128.LoadUnsafe(ref xr, (nuint)j) - mu))).StoreUnsafe(ref dr, (nuint)j);
        return j;
    }
}
