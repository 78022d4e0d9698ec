using System.Numerics.Tensors;

namespace Backprop.Kernels;

/// <summary>
/// An elementwise binary operation in the three forms the broadcasting driver needs: span ∘ span, span ∘ scalar,
/// scalar ∘ span. Implemented by structs so that the JIT specialises the driver for each op.
/// </summary>
internal interface IBinaryKernel
{
    static abstract float Apply(float x, float y);
    static abstract void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d);
    static abstract void Apply(ReadOnlySpan<float> x, float y, Span<float> d);
    static abstract void Apply(float x, ReadOnlySpan<float> y, Span<float> d);
}

// Add and Multiply of two spans go through SimdDriver, which splits long ones (a transformer's residual adds, [768, 128])
// over the cores; each element is the same single rounding either way.
internal readonly struct AddKernel : IBinaryKernel
{
    public static float Apply(float x, float y) => x + y;
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => SimdDriver.Map<AddOperator>(d, x, y, Simd.Width);
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => TensorPrimitives.Add(x, y, d);
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Add(y, x, d);
}

internal readonly struct SubtractKernel : IBinaryKernel
{
    public static float Apply(float x, float y) => x - y;
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Subtract(x, y, d);
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => TensorPrimitives.Subtract(x, y, d);
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Subtract(x, y, d);
}

internal readonly struct MultiplyKernel : IBinaryKernel
{
    public static float Apply(float x, float y) => x * y;
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => SimdDriver.Map<MultiplyOperator>(d, x, y, Simd.Width);
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => TensorPrimitives.Multiply(x, y, d);
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Multiply(y, x, d);
}

internal readonly struct DivideKernel : IBinaryKernel
{
    public static float Apply(float x, float y) => x / y;
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Divide(x, y, d);
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => TensorPrimitives.Divide(x, y, d);
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Divide(x, y, d);
}

internal readonly struct MaximumKernel : IBinaryKernel
{
    // NaN-propagating like torch.maximum.
    public static float Apply(float x, float y) => MathF.Max(x, y);
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Max(x, y, d);
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => TensorPrimitives.Max(x, y, d);
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Max(y, x, d);
}

internal readonly struct PowKernel : IBinaryKernel
{
    public static float Apply(float x, float y) => MathF.Pow(x, y);
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) { for (int i = 0; i < d.Length; i++) d[i] = MathF.Pow(x[i], y[i]); }
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) { for (int i = 0; i < d.Length; i++) d[i] = MathF.Pow(x[i], y); }
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) { for (int i = 0; i < d.Length; i++) d[i] = MathF.Pow(x, y[i]); }
}
