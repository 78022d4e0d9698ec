using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// 6×16 register tile on Vector256: 12 accumulators; and a 4×16 short tile (8) for the rows a product's height leaves.
/// </summary>
internal readonly struct MicroKernel256 : IMicroKernel
{
    public static int MR => 6;
    public static int NR => 16;
    public static bool IsSupported => Vector256.IsHardwareAccelerated;
    public static int MRShort => 4;

    /// <inheritdoc cref="IMicroKernel.Run"/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool accumulate)
    {
        Vector256<float> c0a = default; Vector256<float> c0b = default;
        Vector256<float> c1a = default; Vector256<float> c1b = default;
        Vector256<float> c2a = default; Vector256<float> c2b = default;
        Vector256<float> c3a = default; Vector256<float> c3b = default;
        Vector256<float> c4a = default; Vector256<float> c4b = default;
        Vector256<float> c5a = default; Vector256<float> c5b = default;
        GemmPrefetch.Tile(c, ldc, 6, 16);
        // One step of p: 2 vector loads of B's row p, 6 broadcasts of A's column p, 12 FMAs.
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 8);
            var a0 = Vector256.Create(a[0]); c0a = Vector256.FusedMultiplyAdd(a0, b0, c0a); c0b = Vector256.FusedMultiplyAdd(a0, b1, c0b);
            var a1 = Vector256.Create(a[1]); c1a = Vector256.FusedMultiplyAdd(a1, b0, c1a); c1b = Vector256.FusedMultiplyAdd(a1, b1, c1b);
            var a2 = Vector256.Create(a[2]); c2a = Vector256.FusedMultiplyAdd(a2, b0, c2a); c2b = Vector256.FusedMultiplyAdd(a2, b1, c2b);
            var a3 = Vector256.Create(a[3]); c3a = Vector256.FusedMultiplyAdd(a3, b0, c3a); c3b = Vector256.FusedMultiplyAdd(a3, b1, c3b);
            var a4 = Vector256.Create(a[4]); c4a = Vector256.FusedMultiplyAdd(a4, b0, c4a); c4b = Vector256.FusedMultiplyAdd(a4, b1, c4b);
            var a5 = Vector256.Create(a[5]); c5a = Vector256.FusedMultiplyAdd(a5, b0, c5a); c5b = Vector256.FusedMultiplyAdd(a5, b1, c5b);
            a += 6;
            b += ldb;
        }

        Store(c, c0a, c0b, accumulate);
        Store(c + 1 * ldc, c1a, c1b, accumulate);
        Store(c + 2 * ldc, c2a, c2b, accumulate);
        Store(c + 3 * ldc, c3a, c3b, accumulate);
        Store(c + 4 * ldc, c4a, c4b, accumulate);
        Store(c + 5 * ldc, c5a, c5b, accumulate);
    }

    /// <inheritdoc cref="IMicroKernel.RunShort"/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void RunShort(int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool accumulate)
    {
        Vector256<float> c0a = default; Vector256<float> c0b = default;
        Vector256<float> c1a = default; Vector256<float> c1b = default;
        Vector256<float> c2a = default; Vector256<float> c2b = default;
        Vector256<float> c3a = default; Vector256<float> c3b = default;
        GemmPrefetch.Tile(c, ldc, 4, NR);
        // One step of p: 2 vector loads of B's row p, 4 broadcasts of A's column p, 8 FMAs.
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 8);
            var a0 = Vector256.Create(a[0]); c0a = Vector256.FusedMultiplyAdd(a0, b0, c0a); c0b = Vector256.FusedMultiplyAdd(a0, b1, c0b);
            var a1 = Vector256.Create(a[1]); c1a = Vector256.FusedMultiplyAdd(a1, b0, c1a); c1b = Vector256.FusedMultiplyAdd(a1, b1, c1b);
            var a2 = Vector256.Create(a[2]); c2a = Vector256.FusedMultiplyAdd(a2, b0, c2a); c2b = Vector256.FusedMultiplyAdd(a2, b1, c2b);
            var a3 = Vector256.Create(a[3]); c3a = Vector256.FusedMultiplyAdd(a3, b0, c3a); c3b = Vector256.FusedMultiplyAdd(a3, b1, c3b);
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
    private static unsafe void Store(float* c, Vector256<float> x0, Vector256<float> x1, bool accumulate)
    {
        if (accumulate)
        {
            x0 += Vector256.Load(c);
            x1 += Vector256.Load(c + 8);
        }
        x0.Store(c);
        x1.Store(c + 8);
    }
}
