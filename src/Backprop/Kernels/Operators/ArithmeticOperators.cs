using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// Arithmetic and the element-wise backwards of Tensor's unary functions, one operator struct each, for SimdDriver.

/// <summary>x·y.</summary>
internal readonly struct MultiplyOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x, float y) => x * y;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => x * y;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x * y;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x * y;
}

/// <summary>The IEEE maximum of x and y, as MathF.Max: a NaN propagates and +0 &gt; −0.</summary>
internal readonly struct MaxOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x, float y) => MathF.Max(x, y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => Vector128.Max(x, y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => Vector256.Max(x, y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => Vector512.Max(x, y);
}

/// <summary>x + y.</summary>
internal readonly struct AddOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x, float y) => x + y;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => x + y;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x + y;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x + y;
}

/// <summary>x·scale + shift, rounded after the multiply and after the add (no FMA), as the scalar expression is.</summary>
internal readonly struct MultiplyAddOperator : ITernaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x, float scale, float shift) => x * scale + shift;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> scale, Vector128<float> shift) => x * scale + shift;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> scale, Vector256<float> shift) => x * scale + shift;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> scale, Vector512<float> shift) => x * scale + shift;
}

/// <summary>x·a + y (axpy), rounded after the multiply and after the add, as TensorPrimitives.MultiplyAdd(x, a, y) is.</summary>
internal readonly struct ScaleAddOperator : ITernaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x, float y, float a) => x * a + y;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> y, Vector128<float> a) => x * a + y;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> y, Vector256<float> a) => x * a + y;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> y, Vector512<float> a) => x * a + y;
}

/// <summary>dy·√'(x) = dy·0.5 / y, with y = √x.</summary>
internal readonly struct SqrtBackwardOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float dy, float y) => dy * 0.5f / y;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> dy, Vector128<float> y) => dy * Vector128.Create(0.5f) / y;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> dy, Vector256<float> y) => dy * Vector256.Create(0.5f) / y;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> dy, Vector512<float> y) => dy * Vector512.Create(0.5f) / y;
}

/// <summary>dy·sign(x), 0 at x = 0 (PyTorch's convention). The vector negation flips the sign bit, as scalar negation does.</summary>
internal readonly struct AbsBackwardOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float dy, float x) => x > 0f ? dy : x < 0f ? -dy : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> dy, Vector128<float> x) => Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero), dy, Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128<float>.Zero), dy ^ Vector128.Create(-0f), Vector128<float>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> dy, Vector256<float> x) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), dy, Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), dy ^ Vector256.Create(-0f), Vector256<float>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> dy, Vector512<float> x) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), dy, Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), dy ^ Vector512.Create(-0f), Vector512<float>.Zero));
}

/// <summary>dy where min ≤ x ≤ max, else 0 (PyTorch passes the gradient at the bounds).</summary>
internal readonly struct ClampBackwardOperator : IQuaternaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float dy, float x, float min, float max) => x >= min && x <= max ? dy : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> dy, Vector128<float> x, Vector128<float> min, Vector128<float> max) => Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(x, min) & Vector128.LessThanOrEqual(x, max), dy, Vector128<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> dy, Vector256<float> x, Vector256<float> min, Vector256<float> max) => Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, min) & Vector256.LessThanOrEqual(x, max), dy, Vector256<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> dy, Vector512<float> x, Vector512<float> min, Vector512<float> max) => Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, min) & Vector512.LessThanOrEqual(x, max), dy, Vector512<float>.Zero);
}
