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

    // Strip elements are contiguous in the source (A transposed, B not): one copy of `valid` floats per p.
    private static void StripFromRows(float* dst, float* src, nint cs, int valid, int kc, int w)
    {
        for (int p = 0; p < kc; p++, dst += w, src += cs)
        {
            new ReadOnlySpan<float>(src, valid).CopyTo(new Span<float>(dst, valid));
            if (valid < w) new Span<float>(dst + valid, w - valid).Clear();
        }
    }

    // Strip elements are rows of the source (A not transposed, B transposed): a transpose, read along p, write
    // with stride w. Usually cs == 1, so each source row is read contiguously.
    private static void StripFromColumns(float* dst, float* src, nint rs, nint cs, int valid, int kc, int w)
    {
        for (int r = 0; r < valid; r++)
        {
            float* s = src + r * rs;
            float* d = dst + r;
            for (int p = 0; p < kc; p++) d[p * w] = s[p * cs];
        }
        for (int r = valid; r < w; r++)
            for (int p = 0; p < kc; p++) dst[p * w + r] = 0f;
    }
}
