using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// The activations' element-wise forward and backward, one operator struct each, for SimdDriver.

/// <summary>max(0, x) as x &gt; 0 ? x : +0, so −0 and NaN become +0 (TensorPrimitives.Max(x, 0) gives the same for −0).</summary>
internal readonly struct ReluOperator : IUnaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x) => x > 0f ? x : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x) => Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero), x, Vector128<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), x, Vector256<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), x, Vector512<float>.Zero);
}

/// <summary>x &gt; 0 ? x : slope·x.</summary>
internal readonly struct LeakyReluOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x, float slope) => x > 0f ? x : slope * x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> slope) => Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero), x, slope * x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> slope) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), x, slope * x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> slope) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), x, slope * x);
}

/// <summary>relu(x + bias): the fused bias and ReLU of a dense or convolution output.</summary>
internal readonly struct BiasReluOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x, float bias) => ReluOperator.Invoke(x + bias);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> bias) => ReluOperator.Invoke(x + bias);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> bias) => ReluOperator.Invoke(x + bias);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> bias) => ReluOperator.Invoke(x + bias);
}

/// <summary>leaky_relu(x + bias) with the given slope.</summary>
internal readonly struct BiasLeakyReluOperator : ITernaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x, float bias, float slope) => LeakyReluOperator.Invoke(x + bias, slope);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> bias, Vector128<float> slope) => LeakyReluOperator.Invoke(x + bias, slope);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> bias, Vector256<float> slope) => LeakyReluOperator.Invoke(x + bias, slope);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> bias, Vector512<float> slope) => LeakyReluOperator.Invoke(x + bias, slope);
}

/// <summary>dy where y &gt; 0, else +0: the ReLU gate, from its output y or its input x (they are positive at the same places).</summary>
internal readonly struct ReluBackwardOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float dy, float y) => y > 0f ? dy : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> dy, Vector128<float> y) => Vector128.ConditionalSelect(Vector128.GreaterThan(y, Vector128<float>.Zero), dy, Vector128<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> dy, Vector256<float> y) => Vector256.ConditionalSelect(Vector256.GreaterThan(y, Vector256<float>.Zero), dy, Vector256<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> dy, Vector512<float> y) => Vector512.ConditionalSelect(Vector512.GreaterThan(y, Vector512<float>.Zero), dy, Vector512<float>.Zero);
}

/// <summary>dy where y &gt; 0, else slope·dy (for slope ≥ 0, y &gt; 0 exactly where the input is).</summary>
internal readonly struct LeakyReluBackwardOperator : ITernaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float dy, float y, float slope) => y > 0f ? dy : slope * dy;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> dy, Vector128<float> y, Vector128<float> slope) => Vector128.ConditionalSelect(Vector128.GreaterThan(y, Vector128<float>.Zero), dy, slope * dy);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> dy, Vector256<float> y, Vector256<float> slope) => Vector256.ConditionalSelect(Vector256.GreaterThan(y, Vector256<float>.Zero), dy, slope * dy);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> dy, Vector512<float> y, Vector512<float> slope) => Vector512.ConditionalSelect(Vector512.GreaterThan(y, Vector512<float>.Zero), dy, slope * dy);
}

/// <summary>dy·σ'(z) with σ' = y(1 − y) written from the output y (the seeds' O_out ⊙ (1 − O_out)).</summary>
internal readonly struct SigmoidBackwardOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float dy, float y) => dy * (y * (1f - y));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> dy, Vector128<float> y) => dy * (y * (Vector128<float>.One - y));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> dy, Vector256<float> y) => dy * (y * (Vector256<float>.One - y));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> dy, Vector512<float> y) => dy * (y * (Vector512<float>.One - y));
}

/// <summary>dy·tanh'(z) with tanh' = 1 − y² written from the output y.</summary>
internal readonly struct TanhBackwardOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float dy, float y) => dy * (1f - y * y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> dy, Vector128<float> y) => dy * (Vector128<float>.One - y * y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> dy, Vector256<float> y) => dy * (Vector256<float>.One - y * y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> dy, Vector512<float> y) => dy * (Vector512<float>.One - y * y);
}
