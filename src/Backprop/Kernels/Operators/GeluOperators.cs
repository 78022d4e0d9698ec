using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// Exact GELU, x·Φ(x) with Φ the standard normal CDF, forward and backward in float, one operator struct each, for
// SimdDriver. Φ comes from its small tail E(x) = ½·erfc(|x|/√2), so that neither tail loses its digits:
// Φ(x) = E for x < 0 and 1 − E for x ≥ 0. erfc is the Chebyshev fit of Numerical Recipes' erfcc (W. H. Press et al.,
// §6.2): with z = |x|/√2 and t = 1/(1 + z/2), erfc(z) = t·e^(−z² + P(t)), P a degree-9 polynomial, within 1.2e-7
// relative for every z ≥ 0. In float, −z² = −x²/2 carries a rounding of about 6e-8·x²/2, which e^(·) turns into
// relative error in the far left tail (3e-6 at x = −10, where Φ is 8e-24). Every width does the same operations in
// the same order as the scalar twin (multiply and add kept separate), so every width gives the same bits.

/// <summary>The pieces of Φ(x) shared by <see cref="GeluOperator"/> and <see cref="GeluBackwardOperator"/>.</summary>
internal static class FloatNormalTail
{
    internal const float HalfOverSqrt2 = 0.35355339059327373f;   // z/2 = |x|·(1/(2√2))
    internal const float InvSqrt2Pi = 0.3989422804014327f;       // 1/√(2π), φ(0)
    private const float C0 = -1.26551223f, C1 = 1.00002368f, C2 = 0.37409196f, C3 = 0.09678418f, C4 = -0.18628806f,
        C5 = 0.27886807f, C6 = -1.13520398f, C7 = 1.48851587f, C8 = -0.82215223f, C9 = 0.17087277f;

    /// <summary>t = 1/(1 + |x|/(2√2)) and P(t), so that ½·erfc(|x|/√2) = ½·t·e^(−x²/2 + P(t)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (float T, float P) Fit(float x)
    {
        float t = 1f / (1f + HalfOverSqrt2 * MathF.Abs(x));
        float p = C0 + t * (C1 + t * (C2 + t * (C3 + t * (C4 + t * (C5 + t * (C6 + t * (C7 + t * (C8 + t * C9))))))));
        return (t, p);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<float> T, Vector128<float> P) Fit(Vector128<float> x)
    {
        var t = Vector128<float>.One / (Vector128<float>.One + Vector128.Create(HalfOverSqrt2) * Vector128.Abs(x));
        var p = Vector128.Create(C0) + t * (Vector128.Create(C1) + t * (Vector128.Create(C2) + t * (Vector128.Create(C3) + t * (Vector128.Create(C4)
            + t * (Vector128.Create(C5) + t * (Vector128.Create(C6) + t * (Vector128.Create(C7) + t * (Vector128.Create(C8) + t * Vector128.Create(C9)))))))));
        return (t, p);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float> T, Vector256<float> P) Fit(Vector256<float> x)
    {
        var t = Vector256<float>.One / (Vector256<float>.One + Vector256.Create(HalfOverSqrt2) * Vector256.Abs(x));
        var p = Vector256.Create(C0) + t * (Vector256.Create(C1) + t * (Vector256.Create(C2) + t * (Vector256.Create(C3) + t * (Vector256.Create(C4)
            + t * (Vector256.Create(C5) + t * (Vector256.Create(C6) + t * (Vector256.Create(C7) + t * (Vector256.Create(C8) + t * Vector256.Create(C9)))))))));
        return (t, p);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<float> T, Vector512<float> P) Fit(Vector512<float> x)
    {
        var t = Vector512<float>.One / (Vector512<float>.One + Vector512.Create(HalfOverSqrt2) * Vector512.Abs(x));
        var p = Vector512.Create(C0) + t * (Vector512.Create(C1) + t * (Vector512.Create(C2) + t * (Vector512.Create(C3) + t * (Vector512.Create(C4)
            + t * (Vector512.Create(C5) + t * (Vector512.Create(C6) + t * (Vector512.Create(C7) + t * (Vector512.Create(C8) + t * Vector512.Create(C9)))))))));
        return (t, p);
    }
}

/// <summary>Exact GELU: x·Φ(x), Φ = E below 0 and 1 − E from 0, E = ½·t·e^(P(t) − x²/2) (one exponential).</summary>
internal readonly struct GeluOperator : IUnaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x)
    {
        var (t, p) = FloatNormalTail.Fit(x);
        float e = 0.5f * t * FloatExp.Invoke(p - 0.5f * (x * x));
        return x * (x < 0f ? e : 1f - e);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x)
    {
        var (t, p) = FloatNormalTail.Fit(x);
        var e = Vector128.Create(0.5f) * t * FloatExp.Invoke(p - Vector128.Create(0.5f) * (x * x));
        return x * Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128<float>.Zero), e, Vector128<float>.One - e);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x)
    {
        var (t, p) = FloatNormalTail.Fit(x);
        var e = Vector256.Create(0.5f) * t * FloatExp.Invoke(p - Vector256.Create(0.5f) * (x * x));
        return x * Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), e, Vector256<float>.One - e);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x)
    {
        var (t, p) = FloatNormalTail.Fit(x);
        var e = Vector512.Create(0.5f) * t * FloatExp.Invoke(p - Vector512.Create(0.5f) * (x * x));
        return x * Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), e, Vector512<float>.One - e);
    }
}

/// <summary>
/// dy·GELU'(x) for exact GELU: GELU'(x) = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π). With g = e^(−x²/2), the tail is
/// E = ½·t·g·e^(P(t)) (two exponentials, g shared with φ).
/// </summary>
internal readonly struct GeluBackwardOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float dy, float x)
    {
        var (t, p) = FloatNormalTail.Fit(x);
        float g = FloatExp.Invoke(-0.5f * (x * x));
        float e = 0.5f * t * g * FloatExp.Invoke(p);
        float phi = x < 0f ? e : 1f - e;
        return dy * (phi + x * (FloatNormalTail.InvSqrt2Pi * g));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> dy, Vector128<float> x)
    {
        var (t, p) = FloatNormalTail.Fit(x);
        var g = FloatExp.Invoke(Vector128.Create(-0.5f) * (x * x));
        var e = Vector128.Create(0.5f) * t * g * FloatExp.Invoke(p);
        var phi = Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128<float>.Zero), e, Vector128<float>.One - e);
        return dy * (phi + x * (Vector128.Create(FloatNormalTail.InvSqrt2Pi) * g));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> dy, Vector256<float> x)
    {
        var (t, p) = FloatNormalTail.Fit(x);
        var g = FloatExp.Invoke(Vector256.Create(-0.5f) * (x * x));
        var e = Vector256.Create(0.5f) * t * g * FloatExp.Invoke(p);
        var phi = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), e, Vector256<float>.One - e);
        return dy * (phi + x * (Vector256.Create(FloatNormalTail.InvSqrt2Pi) * g));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> dy, Vector512<float> x)
    {
        var (t, p) = FloatNormalTail.Fit(x);
        var g = FloatExp.Invoke(Vector512.Create(-0.5f) * (x * x));
        var e = Vector512.Create(0.5f) * t * g * FloatExp.Invoke(p);
        var phi = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), e, Vector512<float>.One - e);
        return dy * (phi + x * (Vector512.Create(FloatNormalTail.InvSqrt2Pi) * g));
    }
}
