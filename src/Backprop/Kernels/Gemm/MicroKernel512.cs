using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// 14×32 register tile on Vector512: 28 accumulators; and a 4×32 short tile (8) for the rows a product's height leaves.
/// </summary>
internal readonly struct MicroKernel512 : IMicroKernel
{
    public static int MR => 14;
    public static int NR => 32;
    public static bool IsSupported => Vector512.IsHardwareAccelerated;
    public static int MRShort => 4;

    /// <inheritdoc cref="IMicroKernel.Run"/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool accumulate)
    {
        Vector512<float> c0a = default; Vector512<float> c0b = default;
        Vector512<float> c1a = default; Vector512<float> c1b = default;
        Vector512<float> c2a = default; Vector512<float> c2b = default;
        Vector512<float> c3a = default; Vector512<float> c3b = default;
        Vector512<float> c4a = default; Vector512<float> c4b = default;
        Vector512<float> c5a = default; Vector512<float> c5b = default;
        Vector512<float> c6a = default; Vector512<float> c6b = default;
        Vector512<float> c7a = default; Vector512<float> c7b = default;
        Vector512<float> c8a = default; Vector512<float> c8b = default;
        Vector512<float> c9a = default; Vector512<float> c9b = default;
        Vector512<float> c10a = default; Vector512<float> c10b = default;
        Vector512<float> c11a = default; Vector512<float> c11b = default;
        Vector512<float> c12a = default; Vector512<float> c12b = default;
        Vector512<float> c13a = default; Vector512<float> c13b = default;
        GemmPrefetch.Tile(c, ldc, 14, 32);
        // One step of p: 2 vector loads of B's row p, 14 broadcasts of A's column p, 28 FMAs.
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + 16);
            var a0 = Vector512.Create(a[0]); c0a = Vector512.FusedMultiplyAdd(a0, b0, c0a); c0b = Vector512.FusedMultiplyAdd(a0, b1, c0b);
            var a1 = Vector512.Create(a[1]); c1a = Vector512.FusedMultiplyAdd(a1, b0, c1a); c1b = Vector512.FusedMultiplyAdd(a1, b1, c1b);
            var a2 = Vector512.Create(a[2]); c2a = Vector512.FusedMultiplyAdd(a2, b0, c2a); c2b = Vector512.FusedMultiplyAdd(a2, b1, c2b);
            var a3 = Vector512.Create(a[3]); c3a = Vector512.FusedMultiplyAdd(a3, b0, c3a); c3b = Vector512.FusedMultiplyAdd(a3, b1, c3b);
            var a4 = Vector512.Create(a[4]); c4a = Vector512.FusedMultiplyAdd(a4, b0, c4a); c4b = Vector512.FusedMultiplyAdd(a4, b1, c4b);
            var a5 = Vector512.Create(a[5]); c5a = Vector512.FusedMultiplyAdd(a5, b0, c5a); c5b = Vector512.FusedMultiplyAdd(a5, b1, c5b);
            var a6 = Vector512.Create(a[6]); c6a = Vector512.FusedMultiplyAdd(a6, b0, c6a); c6b = Vector512.FusedMultiplyAdd(a6, b1, c6b);
            var a7 = Vector512.Create(a[7]); c7a = Vector512.FusedMultiplyAdd(a7, b0, c7a); c7b = Vector512.FusedMultiplyAdd(a7, b1, c7b);
            var a8 = Vector512.Create(a[8]); c8a = Vector512.FusedMultiplyAdd(a8, b0, c8a); c8b = Vector512.FusedMultiplyAdd(a8, b1, c8b);
            var a9 = Vector512.Create(a[9]); c9a = Vector512.FusedMultiplyAdd(a9, b0, c9a); c9b = Vector512.FusedMultiplyAdd(a9, b1, c9b);
            var a10 = Vector512.Create(a[10]); c10a = Vector512.FusedMultiplyAdd(a10, b0, c10a); c10b = Vector512.FusedMultiplyAdd(a10, b1, c10b);
            var a11 = Vector512.Create(a[11]); c11a = Vector512.FusedMultiplyAdd(a11, b0, c11a); c11b = Vector512.FusedMultiplyAdd(a11, b1, c11b);
            var a12 = Vector512.Create(a[12]); c12a = Vector512.FusedMultiplyAdd(a12, b0, c12a); c12b = Vector512.FusedMultiplyAdd(a12, b1, c12b);
            var a13 = Vector512.Create(a[13]); c13a = Vector512.FusedMultiplyAdd(a13, b0, c13a); c13b = Vector512.FusedMultiplyAdd(a13, b1, c13b);
            a += 14;
            b += ldb;
        }

        Store(c, c0a, c0b, accumulate);
        Store(c + 1 * ldc, c1a, c1b, accumulate);
        Store(c + 2 * ldc, c2a, c2b, accumulate);
        Store(c + 3 * ldc, c3a, c3b, accumulate);
        Store(c + 4 * ldc, c4a, c4b, accumulate);
        Store(c + 5 * ldc, c5a, c5b, accumulate);
        Store(c + 6 * ldc, c6a, c6b, accumulate);
        Store(c + 7 * ldc, c7a, c7b, accumulate);
        Store(c + 8 * ldc, c8a, c8b, accumulate);
        Store(c + 9 * ldc, c9a, c9b, accumulate);
        Store(c + 10 * ldc, c10a, c10b, accumulate);
        Store(c + 11 * ldc, c11a, c11b, accumulate);
        Store(c + 12 * ldc, c12a, c12b, accumulate);
        Store(c + 13 * ldc, c13a, c13b, accumulate);
    }

    /// <inheritdoc cref="IMicroKernel.RunShort"/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void RunShort(int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool accumulate)
    {
        Vector512<float> c0a = default; Vector512<float> c0b = default;
        Vector512<float> c1a = default; Vector512<float> c1b = default;
        Vector512<float> c2a = default; Vector512<float> c2b = default;
        Vector512<float> c3a = default; Vector512<float> c3b = default;
        GemmPrefetch.Tile(c, ldc, 4, NR);
        // One step of p: 2 vector loads of B's row p, 4 broadcasts of A's column p, 8 FMAs.
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + 16);
            var a0 = Vector512.Create(a[0]); c0a = Vector512.FusedMultiplyAdd(a0, b0, c0a); c0b = Vector512.FusedMultiplyAdd(a0, b1, c0b);
            var a1 = Vector512.Create(a[1]); c1a = Vector512.FusedMultiplyAdd(a1, b0, c1a); c1b = Vector512.FusedMultiplyAdd(a1, b1, c1b);
            var a2 = Vector512.Create(a[2]); c2a = Vector512.FusedMultiplyAdd(a2, b0, c2a); c2b = Vector512.FusedMultiplyAdd(a2, b1, c2b);
            var a3 = Vector512.Create(a[3]); c3a = Vector512.FusedMultiplyAdd(a3, b0, c3a); c3b = Vector512.FusedMultiplyAdd(a3, b1, c3b);
            a += 4;
            b += ldb;
        }

        Store(c, c0a, c0b, accumulate);
        Store(c + 1 * ldc, c1a, c1b, accumulate);
        Store(c + 2 * ldc, c2a, c2b, accumulate);
        Store(c + 3 * ldc, c3a, c3b, accumulate);
    }

    // C row (NR floats) = acc, or += acc when accumulating.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(float* c, Vector512<float> x0, Vector512<float> x1, bool accumulate)
    {
        if (accumulate)
        {
            x0 += Vector512.Load(c);
            x1 += Vector512.Load(c + 16);
        }
        x0.Store(c);
        x1.Store(c + 16);
    }
}
