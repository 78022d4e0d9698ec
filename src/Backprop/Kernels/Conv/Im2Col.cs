using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// im2col and its adjoint col2im for one image, in the layout <c>col[K, P]</c>: one row per kernel tap (c, kh, kw) in
/// the weight's order, one column per output pixel (oh, ow).
/// </summary>
/// <remarks>
/// <para>With this layout an image's convolution is one GEMM straight into its NCHW output,
/// <c>Y[OC, P] = W[OC, K]·col[K, P]</c>, and each row of col is, for every oh, a run of OW input values — for stride 1
/// a contiguous slice of an input row — so im2col and col2im move whole runs instead of KW-sized scraps.</para>
/// <para>Padding is handled once per image, not per run: the image is first copied into a zero-bordered scratch
/// [C, H + 2·pad, W + 2·pad] (and col2im accumulates into one, whose interior is then added to dX), so the inner
/// loops never test bounds. Runs of stride 1 move whole vectors of <see cref="Simd.Width"/> (the last vector overlaps
/// the one before it when OW is not a multiple of its length: harmless for a copy; accumulation narrows for the tail).</para>
/// </remarks>
internal static unsafe class Im2Col
{
    /// <summary>Floats of the padded-image scratch that <see cref="Forward(Span{float}, ReadOnlySpan{float}, Span{float}, in ConvGeometry)"/> and <see cref="Backward(Span{float}, ReadOnlySpan{float}, Span{float}, in ConvGeometry)"/> need (0 without padding).</summary>
    public static int ScratchSize(in ConvGeometry g) => g.Pad == 0 ? 0 : g.C * (g.H + 2 * g.Pad) * (g.W + 2 * g.Pad);

    /// <summary>col[K, P] = the patch of image x [C, H, W] under each output pixel; padded taps read 0.</summary>
    public static void Forward(Span<float> col, ReadOnlySpan<float> x, Span<float> scratch, in ConvGeometry g) =>
        Forward(col, x, scratch, g, Simd.Width);

    /// <summary><see cref="Forward(Span{float}, ReadOnlySpan{float}, Span{float}, in ConvGeometry)"/> with runs copied at a given width.</summary>
    internal static void Forward(Span<float> col, ReadOnlySpan<float> x, Span<float> scratch, in ConvGeometry g, SimdWidth width)
    {
        int hp = g.H + 2 * g.Pad, wp = g.W + 2 * g.Pad;
        ReadOnlySpan<float> src = x;
        if (g.Pad > 0)
        {
            var padded = scratch[..ScratchSize(g)];
            padded.Clear();
            for (int c = 0; c < g.C; c++)
                for (int y = 0; y < g.H; y++)
                    x.Slice((c * g.H + y) * g.W, g.W).CopyTo(padded.Slice((c * hp + y + g.Pad) * wp + g.Pad, g.W));
            src = padded;
        }
        if (col.Length < g.K * g.P || src.Length < g.C * hp * wp)
            throw new ArgumentException($"Im2Col.Forward: expected col ≥ {g.K * g.P} and image ≥ {g.C * hp * wp} floats but got {col.Length} and {src.Length}.");
        int oh = g.OH, ow = g.OW, p = g.P, s = g.Stride;
        fixed (float* pc = col, ps = src)
        {
            for (int c = 0; c < g.C; c++)
                for (int kh = 0; kh < g.KH; kh++)
                    for (int kw = 0; kw < g.KW; kw++)
                    {
                        float* dst = pc + ((c * g.KH + kh) * g.KW + kw) * p;
                        float* from = ps + (c * hp + kh) * wp + kw;
                        for (int y = 0; y < oh; y++, dst += ow, from += s * wp)
                        {
                            if (s == 1) CopyRun(dst, from, ow, width);
                            else for (int j = 0; j < ow; j++) dst[j] = from[j * s];
                        }
                    }
        }
    }

    /// <summary>dx[C, H, W] += the adjoint of <see cref="Forward(Span{float}, ReadOnlySpan{float}, Span{float}, in ConvGeometry)"/>: each col entry added back to the input pixel it was
    /// copied from, so pixels under several overlapping windows receive the sum; entries over the padding are dropped.</summary>
    public static void Backward(Span<float> dx, ReadOnlySpan<float> dcol, Span<float> scratch, in ConvGeometry g) =>
        Backward(dx, dcol, scratch, g, Simd.Width);

    /// <summary><see cref="Backward(Span{float}, ReadOnlySpan{float}, Span{float}, in ConvGeometry)"/> with runs added at a given width.</summary>
    internal static void Backward(Span<float> dx, ReadOnlySpan<float> dcol, Span<float> scratch, in ConvGeometry g, SimdWidth width)
    {
        int hp = g.H + 2 * g.Pad, wp = g.W + 2 * g.Pad;
        var dst = g.Pad > 0 ? scratch[..ScratchSize(g)] : dx;
        if (g.Pad > 0) dst.Clear();
        if (dcol.Length < g.K * g.P || dst.Length < g.C * hp * wp)
            throw new ArgumentException($"Im2Col.Backward: expected dcol ≥ {g.K * g.P} and image ≥ {g.C * hp * wp} floats but got {dcol.Length} and {dst.Length}.");
        int oh = g.OH, ow = g.OW, p = g.P, s = g.Stride;
        fixed (float* pc = dcol, pd = dst)
        {
            for (int c = 0; c < g.C; c++)
                for (int kh = 0; kh < g.KH; kh++)
                    for (int kw = 0; kw < g.KW; kw++)
                    {
                        float* from = pc + ((c * g.KH + kh) * g.KW + kw) * p;
                        float* to = pd + (c * hp + kh) * wp + kw;
                        for (int y = 0; y < oh; y++, from += ow, to += s * wp)
                        {
                            if (s == 1) AddRun(to, from, ow, width);
                            else for (int j = 0; j < ow; j++) to[j * s] += from[j];
                        }
                    }
        }
        if (g.Pad == 0) return;
        for (int c = 0; c < g.C; c++)
            for (int y = 0; y < g.H; y++)
            {
                var row = dx.Slice((c * g.H + y) * g.W, g.W);
                SimdDriver.Map<AddOperator>(row, row, dst.Slice((c * hp + y + g.Pad) * wp + g.Pad, g.W), width);
            }
    }

    // dst[0..n) = src[0..n) in the widest vectors of at most `width` that fit; the last vector ends at n and may
    // overlap the one before it (harmless for a copy). Runs shorter than a vector go to a narrower one.
    private static void CopyRun(float* dst, float* src, int n, SimdWidth width)
    {
        if (width >= SimdWidth.Vector512 && n >= 16)
        {
            int i = 0;
            for (; i <= n - 16; i += 16) Vector512.Store(Vector512.Load(src + i), dst + i);
            if (i < n) Vector512.Store(Vector512.Load(src + n - 16), dst + n - 16);
        }
        else if (width >= SimdWidth.Vector256 && n >= 8)
        {
            int i = 0;
            for (; i <= n - 8; i += 8) Vector256.Store(Vector256.Load(src + i), dst + i);
            if (i < n) Vector256.Store(Vector256.Load(src + n - 8), dst + n - 8);
        }
        else if (width >= SimdWidth.Vector128 && n >= 4)
        {
            int i = 0;
            for (; i <= n - 4; i += 4) Vector128.Store(Vector128.Load(src + i), dst + i);
            if (i < n) Vector128.Store(Vector128.Load(src + n - 4), dst + n - 4);
        }
        else
            for (int j = 0; j < n; j++) dst[j] = src[j];
    }

    // dst[0..n) += src[0..n): no overlapping last vector here (it would add twice), the driver narrows for the tail.
    private static void AddRun(float* dst, float* src, int n, SimdWidth width) =>
        SimdDriver.Map<AddOperator>(new Span<float>(dst, n), new ReadOnlySpan<float>(dst, n), new ReadOnlySpan<float>(src, n), width);
}
