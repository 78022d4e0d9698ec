namespace Backprop.Kernels;

/// <summary>
/// Batch normalisation, forward and backward, over x viewed as [N, C, S]: N samples, C channels, S positions per
/// channel (S = 1 for [N, F] features, H·W for [N, C, H, W] images). Every channel c is normalised over its
/// M = N·S values. Spans in, spans out; no allocation, no autograd.
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
    public static void Affine(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, int n, int c, int s)
    {
        for (int i = 0; i < n; i++)
        {
            for (int ch = 0; ch < c; ch++)
            {
                int at = (i * c + ch) * s;
                float a = scale[ch], b = shift[ch];
                var xs = x.Slice(at, s);
                var ys = y.Slice(at, s);
                for (int k = 0; k < xs.Length; k++) ys[k] = xs[k] * a + b;
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
        ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma, ReadOnlySpan<float> dGamma, ReadOnlySpan<float> dBeta, int n, int c, int s)
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
                for (int j = 0; j < gs.Length; j++) ds[j] = k * (gs[j] - meanG - slope * (xs[j] - mu));
            }
        }
    }

    /// <summary>∂L/∂x when μ and σ² are fixed running statistics (evaluation mode): dx = g·γ·invStd.</summary>
    public static void BackwardFrozen(Span<float> dx, ReadOnlySpan<float> g, ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma, int n, int c, int s)
    {
        for (int i = 0; i < n; i++)
        {
            for (int ch = 0; ch < c; ch++)
            {
                int at = (i * c + ch) * s;
                float k = (gamma.IsEmpty ? 1f : gamma[ch]) * invStd[ch];
                var gs = g.Slice(at, s);
                var ds = dx.Slice(at, s);
                for (int j = 0; j < gs.Length; j++) ds[j] = k * gs[j];
            }
        }
    }
}
