using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

internal static partial class DenseKernels
{
    /// <summary>y[n] = Σ_k x[k]·W[k, :] for W [k, n], at <see cref="Simd.Width"/>.</summary>
    internal static void Gemv(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> w, int k, int n) =>
        Gemv(y, x, w, k, n, Simd.Width);

    /// <summary>
    /// y[n] = Σ_k x[k]·W[k, :] for W [k, n] row-major, at a given width. y = x·W is an axpy of row p of W per input
    /// element: columns go in blocks of eight vectors whose partial sums stay in registers while the k rows stream
    /// past (no load/store of y per row), then single vectors, then narrower vectors and single columns for the rest.
    /// Zero inputs (about half the values after ReLU, and most pixels of an MNIST image) are skipped, since adding
    /// 0·W[p, j] leaves the sum unchanged.
    /// </summary>
    /// <remarks>
    /// Every width computes each y[j] as the same sum: from 0, over p ascending, zeros skipped, multiply then add (no
    /// FMA), so all widths give the same bits, and the same bits as <see cref="GemmSmall"/>'s row updates.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Gemv(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> w, int k, int n, SimdWidth width) =>
        Gemv(y, x, w, k, n, width, threads: 1);

    /// <summary>
    /// <see cref="Gemv(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, SimdWidth)"/> with the columns
    /// split over up to <paramref name="threads"/> cores when W is large (see <see cref="GemvParallel"/>); each column's
    /// sum is the same whichever core computes it, so the result does not depend on the thread count.
    /// </summary>
    /// <remarks>The row list is written before it is read, so its stack block is not zeroed first (SkipLocalsInit).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    internal static unsafe void Gemv(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> w, int k, int n, SimdWidth width, int threads)
    {
        if (k < 0 || n < 0 || y.Length < n || x.Length < k || w.Length < (long)k * n) ThrowSizes(y.Length, x.Length, w.Length, k, n);
        // The rows p with x[p] ≠ 0, found once without a branch: each column block then walks only these, instead
        // of testing every x[p] again (an unpredictable branch per input per block; an image is about half zeros).
        int[]? rented = k > MaxStackRows ? System.Buffers.ArrayPool<int>.Shared.Rent(k) : null;
        Span<int> rows = rented is null ? stackalloc int[k] : rented;
        fixed (float* py = y, px = x, pw = w)
        fixed (int* pr = rows)
        {
            int count = NonZeroRows(pr, px, k, width);
            if (!GemvParallel.TryRun(py, px, pw, pr, count, n, width, threads))
                GemvColumns(py, px, pw, pr, count, n, 0, n, width);
        }
        if (rented is not null) System.Buffers.ArrayPool<int>.Shared.Return(rented);
    }

    // Writes the p < k with x[p] ≠ 0 (NaN included, ±0 not) to rows in order and returns how many. A vector of inputs at
    // a time (16 or 8): one compare gives a mask of the non-zero ones and each set bit is one row, so the loop costs per
    // non-zero input rather than per input; the rest one at a time, without a branch. The list is the same at every width.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe int NonZeroRows(int* rows, float* x, int k, SimdWidth width)
    {
        int count = 0, p = 0;
        if (width >= SimdWidth.Vector512 && Vector512.IsHardwareAccelerated)
            for (; p + 16 <= k; p += 16)
                count = Append(rows, count, p, (~Vector512.Equals(Vector512.Load(x + p), Vector512<float>.Zero)).ExtractMostSignificantBits());
        if (width >= SimdWidth.Vector256 && Vector256.IsHardwareAccelerated)
            for (; p + 8 <= k; p += 8)
                count = Append(rows, count, p, (~Vector256.Equals(Vector256.Load(x + p), Vector256<float>.Zero)).ExtractMostSignificantBits());
        for (; p < k; p++)
        {
            rows[count] = p;
            count += x[p] != 0f ? 1 : 0;
        }
        return count;
    }

    // rows[count ..] = p + the index of each set bit of `bits`, lowest first; returns the new count.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe int Append(int* rows, int count, int p, ulong bits)
    {
        for (; bits != 0; bits &= bits - 1) rows[count++] = p + BitOperations.TrailingZeroCount(bits);
        return count;
    }

    /// <summary>y[j] for columns [j0, j1) of W [·, n] over the count non-zero rows listed at rows, at a given width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void GemvColumns(float* y, float* x, float* w, int* rows, int count, int n, int j0, int j1, SimdWidth width)
    {
        ref float yr = ref *y;
        ref float xr = ref *x;
        ref float wr = ref *w;
        ref int nz = ref *rows;
        int j = j0;
        if (width >= SimdWidth.Vector512) j = Gemv512(ref yr, ref xr, ref wr, ref nz, count, n, j, j1);
        if (width >= SimdWidth.Vector256) j = Gemv256(ref yr, ref xr, ref wr, ref nz, count, n, j, j1);
        if (width >= SimdWidth.Vector128) j = Gemv128(ref yr, ref xr, ref wr, ref nz, count, n, j, j1);
        GemvScalar(y, x, w, rows, count, n, j, j1);
    }

    // Inputs up to this many keep their non-zero row list on the stack (16 KB).
    private const int MaxStackRows = 4096;

    // Columns [j0, j1) one float at a time, still row by row so that W is read in order: y[j] += W[p, j]·x[p] over
    // the non-zero rows p.
    private static unsafe void GemvScalar(float* y, float* x, float* w, int* rows, int count, int n, int j0, int j1)
    {
        if (j0 >= j1) return;
        for (int j = j0; j < j1; j++) y[j] = 0f;
        for (int q = 0; q < count; q++)
        {
            int p = rows[q];
            float xp = x[p];
            float* row = w + (nint)p * n;
            for (int j = j0; j < j1; j++) y[j] += row[j] * xp;
        }
    }

    // Columns [j, end) of W [·, n], over the count non-zero rows listed at nz, in blocks of 8·16 held in eight Vector512 accumulators, then single vectors; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Gemv512(ref float yr, ref float xr, ref float wr, ref int nz, int count, int n, int j, int end)
    {
        const int L = 16;
        for (; j + 16 * L <= end; j += 16 * L)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default,
                a4 = default, a5 = default, a6 = default, a7 = default,
                b0 = default, b1 = default, b2 = default, b3 = default,
                b4 = default, b5 = default, b6 = default, b7 = default;
            for (int q = 0; q < count; q++)
            {
                int p = Unsafe.Add(ref nz, q);
                float xp = Unsafe.Add(ref xr, p);
                var s = Vector512.Create(xp);
                ref float row = ref Unsafe.Add(ref wr, (nint)p * n + j);
                a0 += Vector512.LoadUnsafe(ref row, 0 * L) * s;
                a1 += Vector512.LoadUnsafe(ref row, 1 * L) * s;
                a2 += Vector512.LoadUnsafe(ref row, 2 * L) * s;
                a3 += Vector512.LoadUnsafe(ref row, 3 * L) * s;
                a4 += Vector512.LoadUnsafe(ref row, 4 * L) * s;
                a5 += Vector512.LoadUnsafe(ref row, 5 * L) * s;
                a6 += Vector512.LoadUnsafe(ref row, 6 * L) * s;
                a7 += Vector512.LoadUnsafe(ref row, 7 * L) * s;
                b0 += Vector512.LoadUnsafe(ref row, 8 * L) * s;
                b1 += Vector512.LoadUnsafe(ref row, 9 * L) * s;
                b2 += Vector512.LoadUnsafe(ref row, 10 * L) * s;
                b3 += Vector512.LoadUnsafe(ref row, 11 * L) * s;
                b4 += Vector512.LoadUnsafe(ref row, 12 * L) * s;
                b5 += Vector512.LoadUnsafe(ref row, 13 * L) * s;
                b6 += Vector512.LoadUnsafe(ref row, 14 * L) * s;
                b7 += Vector512.LoadUnsafe(ref row, 15 * L) * s;
            }
            ref float yj = ref Unsafe.Add(ref yr, j);
            a0.StoreUnsafe(ref yj, 0 * L);
            a1.StoreUnsafe(ref yj, 1 * L);
            a2.StoreUnsafe(ref yj, 2 * L);
            a3.StoreUnsafe(ref yj, 3 * L);
            a4.StoreUnsafe(ref yj, 4 * L);
            a5.StoreUnsafe(ref yj, 5 * L);
            a6.StoreUnsafe(ref yj, 6 * L);
            a7.StoreUnsafe(ref yj, 7 * L);
            b0.StoreUnsafe(ref yj, 8 * L);
            b1.StoreUnsafe(ref yj, 9 * L);
            b2.StoreUnsafe(ref yj, 10 * L);
            b3.StoreUnsafe(ref yj, 11 * L);
            b4.StoreUnsafe(ref yj, 12 * L);
            b5.StoreUnsafe(ref yj, 13 * L);
            b6.StoreUnsafe(ref yj, 14 * L);
            b7.StoreUnsafe(ref yj, 15 * L);
        }
        for (; j + 8 * L <= end; j += 8 * L)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default,
                a4 = default, a5 = default, a6 = default, a7 = default;
            for (int q = 0; q < count; q++)
            {
                int p = Unsafe.Add(ref nz, q);
                float xp = Unsafe.Add(ref xr, p);
                var s = Vector512.Create(xp);
                ref float row = ref Unsafe.Add(ref wr, (nint)p * n + j);
                a0 += Vector512.LoadUnsafe(ref row, 0 * L) * s;
                a1 += Vector512.LoadUnsafe(ref row, 1 * L) * s;
                a2 += Vector512.LoadUnsafe(ref row, 2 * L) * s;
                a3 += Vector512.LoadUnsafe(ref row, 3 * L) * s;
                a4 += Vector512.LoadUnsafe(ref row, 4 * L) * s;
                a5 += Vector512.LoadUnsafe(ref row, 5 * L) * s;
                a6 += Vector512.LoadUnsafe(ref row, 6 * L) * s;
                a7 += Vector512.LoadUnsafe(ref row, 7 * L) * s;
            }
            ref float yj = ref Unsafe.Add(ref yr, j);
            a0.StoreUnsafe(ref yj, 0 * L);
            a1.StoreUnsafe(ref yj, 1 * L);
            a2.StoreUnsafe(ref yj, 2 * L);
            a3.StoreUnsafe(ref yj, 3 * L);
            a4.StoreUnsafe(ref yj, 4 * L);
            a5.StoreUnsafe(ref yj, 5 * L);
            a6.StoreUnsafe(ref yj, 6 * L);
            a7.StoreUnsafe(ref yj, 7 * L);
        }
        for (; j + L <= end; j += L)
        {
            Vector512<float> a = default;
            for (int q = 0; q < count; q++)
            {
                int p = Unsafe.Add(ref nz, q);
                float xp = Unsafe.Add(ref xr, p);
                a += Vector512.LoadUnsafe(ref wr, (nuint)((nint)p * n + j)) * Vector512.Create(xp);
            }
            a.StoreUnsafe(ref yr, (nuint)j);
        }
        return j;
    }

    // Columns [j, end) of W [·, n], over the count non-zero rows listed at nz, in blocks of 8·8 held in eight Vector256 accumulators, then single vectors; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Gemv256(ref float yr, ref float xr, ref float wr, ref int nz, int count, int n, int j, int end)
    {
        const int L = 8;
        for (; j + 8 * L <= end; j += 8 * L)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default,
                a4 = default, a5 = default, a6 = default, a7 = default;
            for (int q = 0; q < count; q++)
            {
                int p = Unsafe.Add(ref nz, q);
                float xp = Unsafe.Add(ref xr, p);
                var s = Vector256.Create(xp);
                ref float row = ref Unsafe.Add(ref wr, (nint)p * n + j);
                a0 += Vector256.LoadUnsafe(ref row, 0 * L) * s;
                a1 += Vector256.LoadUnsafe(ref row, 1 * L) * s;
                a2 += Vector256.LoadUnsafe(ref row, 2 * L) * s;
                a3 += Vector256.LoadUnsafe(ref row, 3 * L) * s;
                a4 += Vector256.LoadUnsafe(ref row, 4 * L) * s;
                a5 += Vector256.LoadUnsafe(ref row, 5 * L) * s;
                a6 += Vector256.LoadUnsafe(ref row, 6 * L) * s;
                a7 += Vector256.LoadUnsafe(ref row, 7 * L) * s;
            }
            ref float yj = ref Unsafe.Add(ref yr, j);
            a0.StoreUnsafe(ref yj, 0 * L);
            a1.StoreUnsafe(ref yj, 1 * L);
            a2.StoreUnsafe(ref yj, 2 * L);
            a3.StoreUnsafe(ref yj, 3 * L);
            a4.StoreUnsafe(ref yj, 4 * L);
            a5.StoreUnsafe(ref yj, 5 * L);
            a6.StoreUnsafe(ref yj, 6 * L);
            a7.StoreUnsafe(ref yj, 7 * L);
        }
        for (; j + L <= end; j += L)
        {
            Vector256<float> a = default;
            for (int q = 0; q < count; q++)
            {
                int p = Unsafe.Add(ref nz, q);
                float xp = Unsafe.Add(ref xr, p);
                a += Vector256.LoadUnsafe(ref wr, (nuint)((nint)p * n + j)) * Vector256.Create(xp);
            }
            a.StoreUnsafe(ref yr, (nuint)j);
        }
        return j;
    }

    // Columns [j, end) of W [·, n], over the count non-zero rows listed at nz, in blocks of 8·4 held in eight Vector128 accumulators, then single vectors; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Gemv128(ref float yr, ref float xr, ref float wr, ref int nz, int count, int n, int j, int end)
    {
        const int L = 4;
        for (; j + 8 * L <= end; j += 8 * L)
        {
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default,
                a4 = default, a5 = default, a6 = default, a7 = default;
            for (int q = 0; q < count; q++)
            {
                int p = Unsafe.Add(ref nz, q);
                float xp = Unsafe.Add(ref xr, p);
                var s = Vector128.Create(xp);
                ref float row = ref Unsafe.Add(ref wr, (nint)p * n + j);
                a0 += Vector128.LoadUnsafe(ref row, 0 * L) * s;
                a1 += Vector128.LoadUnsafe(ref row, 1 * L) * s;
                a2 += Vector128.LoadUnsafe(ref row, 2 * L) * s;
                a3 += Vector128.LoadUnsafe(ref row, 3 * L) * s;
                a4 += Vector128.LoadUnsafe(ref row, 4 * L) * s;
                a5 += Vector128.LoadUnsafe(ref row, 5 * L) * s;
                a6 += Vector128.LoadUnsafe(ref row, 6 * L) * s;
                a7 += Vector128.LoadUnsafe(ref row, 7 * L) * s;
            }
            ref float yj = ref Unsafe.Add(ref yr, j);
            a0.StoreUnsafe(ref yj, 0 * L);
            a1.StoreUnsafe(ref yj, 1 * L);
            a2.StoreUnsafe(ref yj, 2 * L);
            a3.StoreUnsafe(ref yj, 3 * L);
            a4.StoreUnsafe(ref yj, 4 * L);
            a5.StoreUnsafe(ref yj, 5 * L);
            a6.StoreUnsafe(ref yj, 6 * L);
            a7.StoreUnsafe(ref yj, 7 * L);
        }
        for (; j + L <= end; j += L)
        {
            Vector128<float> a = default;
            for (int q = 0; q < count; q++)
            {
                int p = Unsafe.Add(ref nz, q);
                float xp = Unsafe.Add(ref xr, p);
                a += Vector128.LoadUnsafe(ref wr, (nuint)((nint)p * n + j)) * Vector128.Create(xp);
            }
            a.StoreUnsafe(ref yr, (nuint)j);
        }
        return j;
    }

    private static void ThrowSizes(int y, int x, int w, int k, int n) =>
        throw new ArgumentException($"DenseKernels.Gemv: expected k, n ≥ 0 and y ≥ {n}, x ≥ {k}, W ≥ {(long)k * n} values for k={k}, n={n}, but got y {y}, x {x}, W {w}.");
}
