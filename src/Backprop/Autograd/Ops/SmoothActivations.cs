using Backprop.Kernels;

namespace Backprop;

// The smooth activations of modern networks, with PyTorch's definitions and defaults. SiLU and both GELUs run in float
// through the SIMD driver (Kernels/Operators/SmoothActivationOperators.cs and GeluOperators.cs, about 1e-7 relative
// to the double formulas); the others are computed in double and rounded once.
public sealed partial class Tensor
{
    /// <summary>
    /// GELU: x·Φ(x), Φ the standard normal CDF, ½(1 + erf(x/√2)) (PyTorch's default); with
    /// <paramref name="tanhApproximation"/>, ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (PyTorch's <c>approximate='tanh'</c>).
    /// f'(x) = Φ(x) + x·φ(x), φ the normal density (exact form).
    /// </summary>
    public Tensor Gelu(bool tanhApproximation = false) => tanhApproximation
        ? Map(static (x, y) => SimdDriver.Map<GeluTanhOperator>(y, x, Simd.Width))
            .RecordUnary("gelu_tanh", this, static (x, y, g, dx) => SimdDriver.Map<GeluTanhBackwardOperator>(dx, g, x, Simd.Width))
        : Map(static (x, y) => SimdDriver.Map<GeluOperator>(y, x, Simd.Width))
            .RecordUnary("gelu", this, static (x, y, g, dx) => SimdDriver.Map<GeluBackwardOperator>(dx, g, x, Simd.Width));

    /// <summary>y = x·Φ(x) elementwise (exact GELU, <see cref="GeluOperator"/>); y may be x. Generation's forward.</summary>
    internal static void GeluForward(Span<float> y, ReadOnlySpan<float> x) => SimdDriver.Map<GeluOperator>(y, x, Simd.Width);

    /// <summary>SiLU (swish): x·σ(x); f'(x) = σ(x)(1 + x(1 − σ(x))).</summary>
    public Tensor Silu() => Map(static (x, y) => SimdDriver.Map<SiluOperator>(y, x, Simd.Width))
        .RecordUnary("silu", this, static (x, y, g, dx) => SimdDriver.Map<SiluBackwardOperator>(dx, g, x, Simd.Width));

    /// <summary>
    /// Softplus: (1/β)·ln(1 + e^(βx)), and x itself where βx &gt; <paramref name="threshold"/> (PyTorch's defaults
    /// β = 1, threshold 20); f'(x) = σ(βx), 1 above the threshold.
    /// </summary>
    public Tensor Softplus(float beta = 1f, float threshold = 20f)
    {
        if (!(beta > 0)) throw new ArgumentOutOfRangeException(nameof(beta), $"Softplus: beta must be positive but got {beta}.");
        return MapDouble(static (x, beta, threshold) => beta * x > threshold ? x : Log1p(Math.Exp(beta * x)) / beta, beta, threshold)
            .RecordUnary("softplus", this, static (x, y, g, dx, beta, threshold) =>
            {
                for (int i = 0; i < dx.Length; i++) dx[i] = beta * x[i] > threshold ? g[i] : (float)(g[i] / (1 + Math.Exp(-(double)beta * x[i])));
            }, beta, threshold);
    }

    /// <summary>ELU: x for x &gt; 0, else α(eˣ − 1) (α = 1 by default); f'(x) = 1, or α·eˣ.</summary>
    public Tensor Elu(float alpha = 1f) =>
        MapDouble(static (x, alpha, _) => x > 0 ? x : alpha * Expm1(x), alpha).RecordUnary("elu", this, static (x, y, g, dx, alpha, _) =>
        {
            for (int i = 0; i < dx.Length; i++) dx[i] = x[i] > 0 ? g[i] : (float)(g[i] * alpha * Math.Exp(x[i]));
        }, alpha);
}
