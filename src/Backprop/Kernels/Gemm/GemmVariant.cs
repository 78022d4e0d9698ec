namespace Backprop.Kernels;

/// <summary>The instruction-set variants of the GEMM micro-kernel, from the scalar reference to AVX-512.</summary>
public enum GemmVariant
{
    /// <summary>Scalar 4×4 reference kernel (<c>BACKPROP_GEMM=scalar</c>).</summary>
    Scalar,

    /// <summary>128-bit vectors, 6×8 tile: SSE / AdvSimd (<c>BACKPROP_GEMM=v128</c>).</summary>
    Vector128,

    /// <summary>256-bit vectors, 6×16 tile: AVX2 + FMA (<c>BACKPROP_GEMM=v256</c>).</summary>
    Vector256,

    /// <summary>512-bit vectors, 14×32 tile: AVX-512 (<c>BACKPROP_GEMM=v512</c>).</summary>
    Vector512,
}
