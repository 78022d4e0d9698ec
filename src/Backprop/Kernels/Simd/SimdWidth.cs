namespace Backprop.Kernels;

/// <summary>
/// The vector width a kernel runs at. Every SIMD kernel has a path per width, and every path gives results
/// bit-identical to the scalar one; the order of the members is the order of the widths.
/// </summary>
public enum SimdWidth
{
    /// <summary>One float at a time: the reference twin of every vector path (<c>BACKPROP_SIMD=scalar</c>).</summary>
    Scalar,

    /// <summary>4 floats: SSE, ARM64 NEON (<c>BACKPROP_SIMD=v128</c>).</summary>
    Vector128,

    /// <summary>8 floats: AVX2 (<c>BACKPROP_SIMD=v256</c>).</summary>
    Vector256,

    /// <summary>16 floats: AVX-512 (<c>BACKPROP_SIMD=v512</c>).</summary>
    Vector512,
}
