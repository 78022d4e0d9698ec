using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// Element-wise operators for SimdDriver, in the style of TensorPrimitives: a struct per operation with the same
// function written once per width. Each vector Invoke must compute, lane by lane, exactly what the scalar Invoke
// computes (the same operations in the same order, multiply and add kept separate), so that every width gives the
// same bits. A scalar parameter (a slope, a scale) is passed as an operand that the driver broadcasts.

/// <summary>d = f(x).</summary>
internal interface IUnaryOperator
{
    static abstract float Invoke(float x);
    static abstract Vector128<float> Invoke(Vector128<float> x);
    static abstract Vector256<float> Invoke(Vector256<float> x);
    static abstract Vector512<float> Invoke(Vector512<float> x);
}

/// <summary>d = f(x, y).</summary>
internal interface IBinaryOperator
{
    static abstract float Invoke(float x, float y);
    static abstract Vector128<float> Invoke(Vector128<float> x, Vector128<float> y);
    static abstract Vector256<float> Invoke(Vector256<float> x, Vector256<float> y);
    static abstract Vector512<float> Invoke(Vector512<float> x, Vector512<float> y);
}

/// <summary>d = f(x, y, z).</summary>
internal interface ITernaryOperator
{
    static abstract float Invoke(float x, float y, float z);
    static abstract Vector128<float> Invoke(Vector128<float> x, Vector128<float> y, Vector128<float> z);
    static abstract Vector256<float> Invoke(Vector256<float> x, Vector256<float> y, Vector256<float> z);
    static abstract Vector512<float> Invoke(Vector512<float> x, Vector512<float> y, Vector512<float> z);
}

/// <summary>d = f(x, y, z, w).</summary>
internal interface IQuaternaryOperator
{
    static abstract float Invoke(float x, float y, float z, float w);
    static abstract Vector128<float> Invoke(Vector128<float> x, Vector128<float> y, Vector128<float> z, Vector128<float> w);
    static abstract Vector256<float> Invoke(Vector256<float> x, Vector256<float> y, Vector256<float> z, Vector256<float> w);
    static abstract Vector512<float> Invoke(Vector512<float> x, Vector512<float> y, Vector512<float> z, Vector512<float> w);
}
