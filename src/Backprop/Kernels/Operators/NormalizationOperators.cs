using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// A normalisation's affine step x·scale + shift fused with the activation after it, one operator struct each, for
// SimdDriver.MapRows (scale and shift are per-column rows). The product and the sum are rounded separately (no FMA),
// as MultiplyAddOperator is.

/// <summary>relu(x·scale + shift).</summary>
internal readonly struct AffineReluOperator : ITernaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x, float scale, float shift) => ReluOperator.Invoke(x * scale + shift);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> scale, Vector128<float> shift) => ReluOperator.Invoke(x * scale + shift);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> scale, Vector256<float> shift) => ReluOperator.Invoke(x * scale + shift);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> scale, Vector512<float> shift) => ReluOperator.Invoke(x * scale + shift);
}

/// <summary>leaky_relu(x·scale + shift) with the given slope.</summary>
internal readonly struct AffineLeakyReluOperator : IQuaternaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x, float scale, float shift, float slope) => LeakyReluOperator.Invoke(x * scale + shift, slope);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> scale, Vector128<float> shift, Vector128<float> slope) =>
        LeakyReluOperator.Invoke(x * scale + shift, slope);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> scale, Vector256<float> shift, Vector256<float> slope) =>
        LeakyReluOperator.Invoke(x * scale + shift, slope);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> scale, Vector512<float> shift, Vector512<float> slope) =>
        LeakyReluOperator.Invoke(x * scale + shift, slope);
}
