using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>
/// Copies a block of a strided matrix into the strip layout the micro-kernels read. Packing is where transposes are
/// absorbed: the kernels see one layout whatever <c>transA</c>/<c>transB</c> were.
/// </summary>
/// <remarks>
/// The block is X(i, p) = <c>src[i*rs + p*cs]</c> for i &lt; count, p &lt; kc. It is cut into strips of
/// <c>w</c> consecutive i; strip s is stored at <c>dst + s*kc*w</c> with X(s*w + r, p) at <c>[p*w + r]</c>, and
/// the rows r ≥ count − s*w of the last strip are zero. For A, i is a row of op(A) and w = MR; for B, i is a
/// column of op(B) and w = NR.
/// </remarks>
internal static unsafe class GemmPacking
{
    /// <summary>Packs X[count, kc] (element (i,p) at <c>src[i*rs + p*cs]</c>) into strips of width <paramref name="w"/>.</summary>
    public static void Pack(float* dst, float* src, nint rs, nint cs, int count, int kc, int w)
    {
        for (int i0 = 0; i0 < count; i0 += w, dst += (nint)kc * w)
        {
            int valid = Math.Min(w, count - i0);
            float* s = src + i0 * rs;
            if (rs == 1) StripFromRows(dst, s, cs, valid, kc, w);
            else StripFromColumns(dst, s, rs, cs, valid, kc, w);
        }
    }

    // Strip elements are contiguous in the source (A transposed, B not): one copy of `valid` floats per p. Full
    // strips move in constant-size blocks (the JIT turns each into one vector move), as a call to memmove per
    // 128-byte row would cost more than the copy.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StripFromRows(float* dst, float* src, nint cs, int valid, int kc, int w)
    {
        if (valid == w && w % 16 == 0)
        {
            for (int p = 0; p < kc; p++, dst += w, src += cs)
                for (int j = 0; j < w; j += 16) Unsafe.CopyBlockUnaligned(dst + j, src + j, 16 * sizeof(float));
            return;
        }
        if (valid == w && w % 4 == 0)
        {
            for (int p = 0; p < kc; p++, dst += w, src += cs)
                for (int j = 0; j < w; j += 4) Unsafe.CopyBlockUnaligned(dst + j, src + j, 4 * sizeof(float));
            return;
        }
        // The A strips of the 14- and 6-row kernels (MR = 14, 6): two overlapping vector moves per p cover the w floats
        // (the overlap is written twice with the same values), instead of w scalar copies. Bytes move unchanged.
        if (valid == w && w is > 8 and < 16 && Vector256.IsHardwareAccelerated)
        {
            for (int p = 0; p < kc; p++, dst += w, src += cs)
            {
                Vector256.Store(Vector256.Load(src), dst);
                Vector256.Store(Vector256.Load(src + w - 8), dst + w - 8);
            }
            return;
        }
        if (valid == w && w is > 4 and < 8 && Vector128.IsHardwareAccelerated)
        {
            for (int p = 0; p < kc; p++, dst += w, src += cs)
            {
                Vector128.Store(Vector128.Load(src), dst);
                Vector128.Store(Vector128.Load(src + w - 4), dst + w - 4);
            }
            return;
        }
        for (int p = 0; p < kc; p++, dst += w, src += cs)
        {
            int j = 0;
            for (; j < valid; j++) dst[j] = src[j];
            for (; j < w; j++) dst[j] = 0f;
        }
    }

    // Strip elements are rows of the source (A not transposed, B transposed): a transpose, read along p, write
    // with stride w. Four source rows at a time, so each p writes 16 contiguous bytes instead of one scattered float;
    // where the rows are contiguous along p (cs = 1) and SSE is there, 4×4 blocks are transposed in registers
    // (four vector loads, eight shuffles, four vector stores instead of sixteen scalar moves each way).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StripFromColumns(float* dst, float* src, nint rs, nint cs, int valid, int kc, int w)
    {
        int r = 0;
        for (; r + 4 <= valid; r += 4)
        {
            float* s0 = src + r * rs, s1 = s0 + rs, s2 = s1 + rs, s3 = s2 + rs;
            float* d = dst + r;
            nint p = 0;
            if (cs == 1 && Sse.IsSupported)
            {
                for (; p + 4 <= kc; p += 4, d += 4 * w)
                    Transpose4x4(s0 + p, s1 + p, s2 + p, s3 + p, d, w);
            }
            for (; p < kc; p++, d += w)
            {
                nint q = p * cs;
                d[0] = s0[q];
                d[1] = s1[q];
                d[2] = s2[q];
                d[3] = s3[q];
            }
        }
        // The widest tiles have 6 and 14 rows: two are left after the blocks of four.
        if (r + 2 <= valid && cs == 1 && Sse.IsSupported)
        {
            float* s0 = src + r * rs, s1 = s0 + rs;
            float* d = dst + r;
            nint p = 0;
            for (; p + 4 <= kc; p += 4, d += 4 * w)
                Transpose2x4(s0 + p, s1 + p, d, w);
            for (; p < kc; p++, d += w)
            {
                d[0] = s0[p];
                d[1] = s1[p];
            }
            r += 2;
        }
        for (; r < valid; r++)
        {
            float* s = src + r * rs;
            float* d = dst + r;
            for (nint p = 0; p < kc; p++) d[p * w] = s[p * cs];
        }
        for (; r < w; r++)
            for (nint p = 0; p < kc; p++) dst[p * w + r] = 0f;
    }

    /// <summary>
    /// One strip's columns p &lt; <paramref name="length"/> from <paramref name="w"/> rows that each hold them
    /// contiguously: <c>dst[p·w + r] = rows[r][p]</c>. The transpose of <see cref="StripFromColumns"/> with cs = 1, for
    /// rows that are not equally spaced (an implicit im2col's pixels; see <see cref="Im2ColA"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void StripFromRowPointers(float* dst, float** rows, int w, int length)
    {
        int r = 0;
        for (; r + 4 <= w; r += 4)
        {
            float* s0 = rows[r], s1 = rows[r + 1], s2 = rows[r + 2], s3 = rows[r + 3];
            float* d = dst + r;
            int p = 0;
            if (Sse.IsSupported)
                for (; p + 4 <= length; p += 4, d += 4 * w)
                    Transpose4x4(s0 + p, s1 + p, s2 + p, s3 + p, d, w);
            for (; p < length; p++, d += w)
            {
                d[0] = s0[p];
                d[1] = s1[p];
                d[2] = s2[p];
                d[3] = s3[p];
            }
        }
        if (r + 2 <= w && Sse.IsSupported)
        {
            float* s0 = rows[r], s1 = rows[r + 1];
            float* d = dst + r;
            int p = 0;
            for (; p + 4 <= length; p += 4, d += 4 * w)
                Transpose2x4(s0 + p, s1 + p, d, w);
            for (; p < length; p++, d += w)
            {
                d[0] = s0[p];
                d[1] = s1[p];
            }
            r += 2;
        }
        for (; r < w; r++)
        {
            float* s = rows[r];
            float* d = dst + r;
            for (int p = 0; p < length; p++) d[p * w] = s[p];
        }
    }

    // d[q·w + j] = s_j[q] for j < 2, q < 4: two rows of four floats in, four pairs out (movlps/movhps).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose2x4(float* s0, float* s1, float* d, int w)
    {
        var r0 = Sse.LoadVector128(s0);    // a0 a1 a2 a3
        var r1 = Sse.LoadVector128(s1);    // b0 b1 b2 b3
        var lo = Sse.UnpackLow(r0, r1);    // a0 b0 a1 b1
        var hi = Sse.UnpackHigh(r0, r1);   // a2 b2 a3 b3
        Sse.StoreLow(d, lo);
        Sse.StoreHigh(d + w, lo);
        Sse.StoreLow(d + 2 * w, hi);
        Sse.StoreHigh(d + 3 * w, hi);
    }

    // d[q·w + j] = s_j[q] for j, q < 4: four rows of four floats in, their transpose out (_MM_TRANSPOSE4_PS).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose4x4(float* s0, float* s1, float* s2, float* s3, float* d, int w)
    {
        var r0 = Sse.LoadVector128(s0);   // a0 a1 a2 a3
        var r1 = Sse.LoadVector128(s1);   // b0 b1 b2 b3
        var r2 = Sse.LoadVector128(s2);   // c0 c1 c2 c3
        var r3 = Sse.LoadVector128(s3);   // d0 d1 d2 d3
        var t0 = Sse.UnpackLow(r0, r1);    // a0 b0 a1 b1
        var t1 = Sse.UnpackLow(r2, r3);    // c0 d0 c1 d1
        var t2 = Sse.UnpackHigh(r0, r1);   // a2 b2 a3 b3
        var t3 = Sse.UnpackHigh(r2, r3);   // c2 d2 c3 d3
        Sse.Store(d, Sse.MoveLowToHigh(t0, t1));           // a0 b0 c0 d0
        Sse.Store(d + w, Sse.MoveHighToLow(t1, t0));       // a1 b1 c1 d1
        Sse.Store(d + 2 * w, Sse.MoveLowToHigh(t2, t3));   // a2 b2 c2 d2
        Sse.Store(d + 3 * w, Sse.MoveHighToLow(t3, t2));   // a3 b3 c3 d3
    }
}
