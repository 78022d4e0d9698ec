using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// e^x, tanh x and σ in float at every width, then SiLU and tanh-GELU forward and backward, one operator struct each,
// for SimdDriver. SiLU and tanh-GELU are x·σ(z): SiLU with z = x, tanh-GELU with z = 2u, u = √(2/π)(x + 0.044715x³),
// since ½(1 + tanh u) = σ(2u). σ(z) and 1 − σ(z) come from a = e^(−|z|) ∈ (0, 1] (no overflow, no cancellation in
// either tail): with q = 1/(1 + a), σ = q and 1 − σ = a·q for z ≥ 0, the other way round for z < 0. Every width does
// the same operations in the same order as the scalar twin (multiply and add kept separate), so every width gives the
// same bits.

/// <summary>
/// e^x in float, as Cephes' expf (about 1 ulp): n = round(x·log₂e) by the 1.5·2²³ trick, r = x − n·ln2 in two parts
/// (Cody–Waite), e^r by its degree-7 minimax polynomial on [−ln2/2, ln2/2], times 2ⁿ built in the exponent bits.
/// Above 88.376 (where 2ⁿ would need n = 128) it is +∞; below −87.336 (where e^x is subnormal) it is 0; NaN stays NaN.
/// </summary>
internal static class FloatExp
{
    private const float Hi = 88.3762626647949f, Lo = -87.3365447505531f;
    private const float Log2E = 1.44269504088896341f, Round = 12582912f;   // 1.5·2²³: x + Round − Round rounds x to an integer
    private const float Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;    // Ln2Hi has 9 bits, so n·Ln2Hi is exact
    private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x)
    {
        float xc = x > Hi ? Hi : x < Lo ? Lo : x;
        float n = xc * Log2E + Round - Round;
        float r = xc - n * Ln2Hi - n * Ln2Lo;
        float p = ((((P0 * r + P1) * r + P2) * r + P3) * r + P4) * r + P5;
        float e = (p * (r * r) + r + 1f) * BitConverter.Int32BitsToSingle(((int)n + 127) << 23);
        return x > Hi ? float.PositiveInfinity : x < Lo ? 0f : e;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x)
    {
        var hi = Vector128.GreaterThan(x, Vector128.Create(Hi));
        var lo = Vector128.LessThan(x, Vector128.Create(Lo));
        var xc = Vector128.ConditionalSelect(hi, Vector128.Create(Hi), Vector128.ConditionalSelect(lo, Vector128.Create(Lo), x));
        var n = xc * Vector128.Create(Log2E) + Vector128.Create(Round) - Vector128.Create(Round);
        var r = xc - n * Vector128.Create(Ln2Hi) - n * Vector128.Create(Ln2Lo);
        var p = ((((Vector128.Create(P0) * r + Vector128.Create(P1)) * r + Vector128.Create(P2)) * r + Vector128.Create(P3)) * r + Vector128.Create(P4)) * r + Vector128.Create(P5);
        var scale = Vector128.ShiftLeft(Vector128.ConvertToInt32(n) + Vector128.Create(127), 23).AsSingle();
        var e = (p * (r * r) + r + Vector128<float>.One) * scale;
        return Vector128.ConditionalSelect(hi, Vector128.Create(float.PositiveInfinity), Vector128.ConditionalSelect(lo, Vector128<float>.Zero, e));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x)
    {
        var hi = Vector256.GreaterThan(x, Vector256.Create(Hi));
        var lo = Vector256.LessThan(x, Vector256.Create(Lo));
        var xc = Vector256.ConditionalSelect(hi, Vector256.Create(Hi), Vector256.ConditionalSelect(lo, Vector256.Create(Lo), x));
        var n = xc * Vector256.Create(Log2E) + Vector256.Create(Round) - Vector256.Create(Round);
        var r = xc - n * Vector256.Create(Ln2Hi) - n * Vector256.Create(Ln2Lo);
        var p = ((((Vector256.Create(P0) * r + Vector256.Create(P1)) * r + Vector256.Create(P2)) * r + Vector256.Create(P3)) * r + Vector256.Create(P4)) * r + Vector256.Create(P5);
        var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
        var e = (p * (r * r) + r + Vector256<float>.One) * scale;
        return Vector256.ConditionalSelect(hi, Vector256.Create(float.PositiveInfinity), Vector256.ConditionalSelect(lo, Vector256<float>.Zero, e));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x)
    {
        var hi = Vector512.GreaterThan(x, Vector512.Create(Hi));
        var lo = Vector512.LessThan(x, Vector512.Create(Lo));
        var xc = Vector512.ConditionalSelect(hi, Vector512.Create(Hi), Vector512.ConditionalSelect(lo, Vector512.Create(Lo), x));
        var n = xc * Vector512.Create(Log2E) + Vector512.Create(Round) - Vector512.Create(Round);
        var r = xc - n * Vector512.Create(Ln2Hi) - n * Vector512.Create(Ln2Lo);
        var p = ((((Vector512.Create(P0) * r + Vector512.Create(P1)) * r + Vector512.Create(P2)) * r + Vector512.Create(P3)) * r + Vector512.Create(P4)) * r + Vector512.Create(P5);
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
        var e = (p * (r * r) + r + Vector512<float>.One) * scale;
        return Vector512.ConditionalSelect(hi, Vector512.Create(float.PositiveInfinity), Vector512.ConditionalSelect(lo, Vector512<float>.Zero, e));
    }
}

/// <summary>
/// tanh x in float, as Cephes' tanhf, on a = |x| with the sign of x put back (so tanh(−0) = −0): below a = 0.625 the
/// odd polynomial a + a·a²·P(a²) (no cancellation near 0, where tanh x ≈ x), from there 1 − 2/(e^(2a) + 1), which
/// reaches exactly 1 by a ≈ 9 and stays there (e^(2a) = +∞ above a = 44.19 gives 1 − 0). NaN stays NaN (it fails
/// a &gt; 0.625 and goes through the polynomial). Every width computes both forms and keeps one per lane, the scalar
/// twin only the one it needs; the operations on the kept one are the same, so every width gives the same bits.
/// </summary>
internal static class FloatTanh
{
    private const float Small = 0.625f;
    private const float P0 = -5.70498872745e-3f, P1 = 2.06390887954e-2f, P2 = -5.37397155531e-2f, P3 = 1.33314422036e-1f, P4 = -3.33332819422e-1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x)
    {
        float a = MathF.Abs(x), t;
        if (a > Small)
        {
            t = 1f - 2f / (FloatExp.Invoke(a + a) + 1f);
        }
        else
        {
            float z = a * a;
            t = ((((P0 * z + P1) * z + P2) * z + P3) * z + P4) * z * a + a;
        }
        return MathF.CopySign(t, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x)
    {
        var a = Vector128.Abs(x);
        var z = a * a;
        var p = ((((Vector128.Create(P0) * z + Vector128.Create(P1)) * z + Vector128.Create(P2)) * z + Vector128.Create(P3)) * z + Vector128.Create(P4)) * z * a + a;
        var q = Vector128<float>.One - Vector128.Create(2f) / (FloatExp.Invoke(a + a) + Vector128<float>.One);
        var t = Vector128.ConditionalSelect(Vector128.GreaterThan(a, Vector128.Create(Small)), q, p);
        return Vector128.ConditionalSelect(Vector128.Create(-0f), x, t);   // the sign bit of x, the rest of t
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x)
    {
        var a = Vector256.Abs(x);
        var z = a * a;
        var p = ((((Vector256.Create(P0) * z + Vector256.Create(P1)) * z + Vector256.Create(P2)) * z + Vector256.Create(P3)) * z + Vector256.Create(P4)) * z * a + a;
        var q = Vector256<float>.One - Vector256.Create(2f) / (FloatExp.Invoke(a + a) + Vector256<float>.One);
        var t = Vector256.ConditionalSelect(Vector256.GreaterThan(a, Vector256.Create(Small)), q, p);
        return Vector256.ConditionalSelect(Vector256.Create(-0f), x, t);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x)
    {
        var a = Vector512.Abs(x);
        var z = a * a;
        var p = ((((Vector512.Create(P0) * z + Vector512.Create(P1)) * z + Vector512.Create(P2)) * z + Vector512.Create(P3)) * z + Vector512.Create(P4)) * z * a + a;
        var q = Vector512<float>.One - Vector512.Create(2f) / (FloatExp.Invoke(a + a) + Vector512<float>.One);
        var t = Vector512.ConditionalSelect(Vector512.GreaterThan(a, Vector512.Create(Small)), q, p);
        return Vector512.ConditionalSelect(Vector512.Create(-0f), x, t);
    }
}

/// <summary>tanh x (<see cref="FloatTanh"/>) as an operator for <see cref="SimdDriver"/>.</summary>
internal readonly struct TanhOperator : IUnaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x) => FloatTanh.Invoke(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x) => FloatTanh.Invoke(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x) => FloatTanh.Invoke(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x) => FloatTanh.Invoke(x);
}

/// <summary>σ(z) and 1 − σ(z) from a = e^(−|z|), q = 1/(1 + a): (q, a·q) for z ≥ 0, (a·q, q) below.</summary>
internal static class FloatSigmoidPair
{
    /// <summary>σ(z) alone, the same bits as <c>Invoke(z).S</c>, for callers that do not need 1 − σ (a smaller inlinee).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float z)
    {
        float a = FloatExp.Invoke(-MathF.Abs(z));
        float q = 1f / (1f + a);
        return z >= 0f ? q : a * q;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sigmoid(Vector128<float> z)
    {
        var a = FloatExp.Invoke(-Vector128.Abs(z));
        var q = Vector128<float>.One / (Vector128<float>.One + a);
        return Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(z, Vector128<float>.Zero), q, a * q);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> z)
    {
        var a = FloatExp.Invoke(-Vector256.Abs(z));
        var q = Vector256<float>.One / (Vector256<float>.One + a);
        return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(z, Vector256<float>.Zero), q, a * q);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> z)
    {
        var a = FloatExp.Invoke(-Vector512.Abs(z));
        var q = Vector512<float>.One / (Vector512<float>.One + a);
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(z, Vector512<float>.Zero), q, a * q);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (float S, float T) Invoke(float z)
    {
        float a = FloatExp.Invoke(-MathF.Abs(z));
        float q = 1f / (1f + a), aq = a * q;
        return z >= 0f ? (q, aq) : (aq, q);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<float> S, Vector128<float> T) Invoke(Vector128<float> z)
    {
        var a = FloatExp.Invoke(-Vector128.Abs(z));
        var q = Vector128<float>.One / (Vector128<float>.One + a);
        var aq = a * q;
        var up = Vector128.GreaterThanOrEqual(z, Vector128<float>.Zero);
        return (Vector128.ConditionalSelect(up, q, aq), Vector128.ConditionalSelect(up, aq, q));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float> S, Vector256<float> T) Invoke(Vector256<float> z)
    {
        var a = FloatExp.Invoke(-Vector256.Abs(z));
        var q = Vector256<float>.One / (Vector256<float>.One + a);
        var aq = a * q;
        var up = Vector256.GreaterThanOrEqual(z, Vector256<float>.Zero);
        return (Vector256.ConditionalSelect(up, q, aq), Vector256.ConditionalSelect(up, aq, q));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<float> S, Vector512<float> T) Invoke(Vector512<float> z)
    {
        var a = FloatExp.Invoke(-Vector512.Abs(z));
        var q = Vector512<float>.One / (Vector512<float>.One + a);
        var aq = a * q;
        var up = Vector512.GreaterThanOrEqual(z, Vector512<float>.Zero);
        return (Vector512.ConditionalSelect(up, q, aq), Vector512.ConditionalSelect(up, aq, q));
    }
}

/// <summary>SiLU: x·σ(x).</summary>
internal readonly struct SiluOperator : IUnaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x) => x * FloatSigmoidPair.Invoke(x).S;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x) => x * FloatSigmoidPair.Invoke(x).S;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x) => x * FloatSigmoidPair.Invoke(x).S;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x) => x * FloatSigmoidPair.Invoke(x).S;
}

/// <summary>dy·SiLU'(x) with SiLU'(x) = σ(x)·(1 + x·(1 − σ(x))).</summary>
internal readonly struct SiluBackwardOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float dy, float x)
    {
        var (s, t) = FloatSigmoidPair.Invoke(x);
        return dy * (s * (1f + x * t));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> dy, Vector128<float> x)
    {
        var (s, t) = FloatSigmoidPair.Invoke(x);
        return dy * (s * (Vector128<float>.One + x * t));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> dy, Vector256<float> x)
    {
        var (s, t) = FloatSigmoidPair.Invoke(x);
        return dy * (s * (Vector256<float>.One + x * t));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> dy, Vector512<float> x)
    {
        var (s, t) = FloatSigmoidPair.Invoke(x);
        return dy * (s * (Vector512<float>.One + x * t));
    }
}

/// <summary>
/// Tanh-GELU: ½x(1 + tanh u) = x·σ(2u), u = √(2/π)·(x + 0.044715·x³) (PyTorch's <c>approximate='tanh'</c>).
/// </summary>
internal readonly struct GeluTanhOperator : IUnaryOperator
{
    internal const float C = 0.7978845608028654f, K = 0.044715f, TwoC = 2f * C;   // √(2/π), the cubic's weight, 2√(2/π)

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x) => x * FloatSigmoidPair.Invoke(TwoC * (x + K * (x * x * x))).S;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x) => x * FloatSigmoidPair.Invoke(Vector128.Create(TwoC) * (x + Vector128.Create(K) * (x * x * x))).S;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x) => x * FloatSigmoidPair.Invoke(Vector256.Create(TwoC) * (x + Vector256.Create(K) * (x * x * x))).S;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x) => x * FloatSigmoidPair.Invoke(Vector512.Create(TwoC) * (x + Vector512.Create(K) * (x * x * x))).S;
}

/// <summary>
/// dy·GELU'(x) for the tanh form: with s = σ(2u) and t = 1 − s, ½(1 + tanh u) = s and ½(1 − tanh²u) = 2s·t, so
/// GELU'(x) = s + x·(2s·t)·√(2/π)(1 + 3·0.044715·x²).
/// </summary>
internal readonly struct GeluTanhBackwardOperator : IBinaryOperator
{
    private const float C = GeluTanhOperator.C, K = GeluTanhOperator.K, TwoC = GeluTanhOperator.TwoC, K3 = 3f * GeluTanhOperator.K;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float dy, float x)
    {
        var (s, t) = FloatSigmoidPair.Invoke(TwoC * (x + K * (x * x * x)));
        return dy * (s + x * (2f * s * t) * (C * (1f + K3 * (x * x))));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> dy, Vector128<float> x)
    {
        var (s, t) = FloatSigmoidPair.Invoke(Vector128.Create(TwoC) * (x + Vector128.Create(K) * (x * x * x)));
        return dy * (s + x * (Vector128.Create(2f) * s * t) * (Vector128.Create(C) * (Vector128<float>.One + Vector128.Create(K3) * (x * x))));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> dy, Vector256<float> x)
    {
        var (s, t) = FloatSigmoidPair.Invoke(Vector256.Create(TwoC) * (x + Vector256.Create(K) * (x * x * x)));
        return dy * (s + x * (Vector256.Create(2f) * s * t) * (Vector256.Create(C) * (Vector256<float>.One + Vector256.Create(K3) * (x * x))));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> dy, Vector512<float> x)
    {
        var (s, t) = FloatSigmoidPair.Invoke(Vector512.Create(TwoC) * (x + Vector512.Create(K) * (x * x * x)));
        return dy * (s + x * (Vector512.Create(2f) * s * t) * (Vector512.Create(C) * (Vector512<float>.One + Vector512.Create(K3) * (x * x))));
    }
}
