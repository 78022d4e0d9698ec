using System.Numerics.Tensors;

namespace Backprop.Kernels;

/// <summary>
/// Row-wise normalisation kernels for LayerNorm and RMSNorm: x [rows, d] normalised over each row of d values.
/// Forward writes y and the per-row statistics the backward needs (μ and 1/σ, or 1/rms); no allocation.
/// </summary>
internal static class LayerNormKernels
{
    /// <summary>
    /// LayerNorm: μ = mean(x), rstd = 1/√(mean((x − μ)²) + ε), y = (x − μ)·rstd·γ + β per row (γ, β may be empty: 1, 0).
    /// </summary>
    public static void Forward(Span<float> y, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> x,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, int rows, int d, float eps)
    {
        for (int r = 0; r < rows; r++)
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
    /// <paramref name="scratch"/> holds 2·d floats.
    /// </summary>
    public static void Backward(Span<float> dx, Span<float> dGamma, Span<float> dBeta, ReadOnlySpan<float> g,
        ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> gamma,
        int rows, int d, Span<float> scratch, bool centre = true)
    {
        var xhat = scratch[..d];
        var ghat = scratch.Slice(d, d);
        for (int r = 0; r < rows; r++)
        {
            var gr = g.Slice(r * d, d);
            if (centre) TensorPrimitives.Subtract(x.Slice(r * d, d), mean[r], xhat);
            else x.Slice(r * d, d).CopyTo(xhat);
            TensorPrimitives.Multiply(xhat, rstd[r], xhat);
            if (!dGamma.IsEmpty) TensorPrimitives.FusedMultiplyAdd(gr, xhat, dGamma, dGamma);
            if (!dBeta.IsEmpty) TensorPrimitives.Add(dBeta, gr, dBeta);
            if (dx.IsEmpty) continue;
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
