namespace Backprop.Kernels;

/// <summary>
/// Scalar reference micro-kernel, 4×4: the twin every SIMD kernel is tested against, and the path
/// <c>BACKPROP_GEMM=scalar</c> forces. Uses <see cref="MathF.FusedMultiplyAdd"/> so that it rounds exactly as the
/// vector kernels do.
/// </summary>
internal readonly struct MicroKernelScalar : IMicroKernel
{
    public static int MR => 4;
    public static int NR => 4;
    public static bool IsSupported => true;
    public static int MRShort => 4;   // MR itself: the scalar tile has no shorter one

    /// <inheritdoc cref="IMicroKernel.RunShort"/>
    public static unsafe void RunShort(int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool accumulate) =>
        Run(kc, a, b, ldb, c, ldc, accumulate);

    /// <inheritdoc cref="IMicroKernel.Run"/>
    public static unsafe void Run(int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool accumulate)
    {
        const int mr = 4, nr = 4;
        float* acc = stackalloc float[mr * nr];
        new Span<float>(acc, mr * nr).Clear();
        for (int p = 0; p < kc; p++, a += mr, b += ldb)
            for (int r = 0; r < mr; r++)
                for (int j = 0; j < nr; j++)
                    acc[r * nr + j] = MathF.FusedMultiplyAdd(a[r], b[j], acc[r * nr + j]);

        for (int r = 0; r < mr; r++)
            for (int j = 0; j < nr; j++)
                c[r * ldc + j] = accumulate ? c[r * ldc + j] + acc[r * nr + j] : acc[r * nr + j];
    }
}
