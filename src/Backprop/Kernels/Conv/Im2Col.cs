namespace Backprop.Kernels;

/// <summary>
/// im2col and its adjoint col2im for a whole batch, in the layout <c>col[K, N·P]</c>: one row per kernel tap
/// (c, kh, kw) in the weight's order, one column per output pixel (n, oh, ow).
/// </summary>
/// <remarks>
/// With this layout a convolution is one GEMM for the whole batch, <c>Y'[OC, N·P] = W[OC, K] · col[K, N·P]</c>, and
/// each row of col is, for every (n, oh), a run of OW input values — for stride 1 a contiguous slice of an input row —
/// so im2col and col2im move whole runs instead of KW-sized scraps (the [N·P, K] layout copies 3 floats at a time
/// for a 3×3 kernel). Taps that fall into the zero padding read as 0 (im2col) and are dropped (col2im).
/// </remarks>
internal static class Im2Col
{
    /// <summary>col[K, N·P] = the input patch under each output pixel; x is [N, C, H, W].</summary>
    public static void Forward(Span<float> col, ReadOnlySpan<float> x, in ConvGeometry g)
    {
        int oh = g.OH, ow = g.OW, p = g.P, cols = g.Columns;
        for (int c = 0; c < g.C; c++)
            for (int kh = 0; kh < g.KH; kh++)
                for (int kw = 0; kw < g.KW; kw++)
                {
                    var row = col.Slice(((c * g.KH + kh) * g.KW + kw) * cols, cols);
                    // Output columns whose input column ow·s − pad + kw lies inside [0, W).
                    var (lo, hi) = ValidRange(kw, g.W, ow, g.Stride, g.Pad);
                    for (int n = 0; n < g.N; n++)
                    {
                        var plane = x.Slice((n * g.C + c) * g.H * g.W, g.H * g.W);
                        for (int y = 0; y < oh; y++)
                        {
                            var dst = row.Slice(n * p + y * ow, ow);
                            int iy = y * g.Stride - g.Pad + kh;
                            if (iy < 0 || iy >= g.H || lo >= hi) { dst.Clear(); continue; }
                            dst[..lo].Clear();
                            dst[hi..].Clear();
                            int ix0 = lo * g.Stride - g.Pad + kw;
                            var src = plane.Slice(iy * g.W);
                            if (g.Stride == 1) src.Slice(ix0, hi - lo).CopyTo(dst[lo..hi]);
                            else
                                for (int j = lo, ix = ix0; j < hi; j++, ix += g.Stride) dst[j] = src[ix];
                        }
                    }
                }
    }

    /// <summary>dx[N, C, H, W] += the adjoint of <see cref="Forward"/>: each col entry added back to the input pixel it
    /// was copied from, so pixels under several overlapping windows receive the sum.</summary>
    public static void Backward(Span<float> dx, ReadOnlySpan<float> dcol, in ConvGeometry g)
    {
        int oh = g.OH, ow = g.OW, p = g.P, cols = g.Columns;
        for (int c = 0; c < g.C; c++)
            for (int kh = 0; kh < g.KH; kh++)
                for (int kw = 0; kw < g.KW; kw++)
                {
                    var row = dcol.Slice(((c * g.KH + kh) * g.KW + kw) * cols, cols);
                    var (lo, hi) = ValidRange(kw, g.W, ow, g.Stride, g.Pad);
                    if (lo >= hi) continue;
                    for (int n = 0; n < g.N; n++)
                    {
                        var plane = dx.Slice((n * g.C + c) * g.H * g.W, g.H * g.W);
                        for (int y = 0; y < oh; y++)
                        {
                            int iy = y * g.Stride - g.Pad + kh;
                            if (iy < 0 || iy >= g.H) continue;
                            var src = row.Slice(n * p + y * ow + lo, hi - lo);
                            int ix0 = lo * g.Stride - g.Pad + kw;
                            var dst = plane.Slice(iy * g.W);
                            if (g.Stride == 1) System.Numerics.Tensors.TensorPrimitives.Add(dst.Slice(ix0, src.Length), src, dst.Slice(ix0, src.Length));
                            else
                                for (int j = 0, ix = ix0; j < src.Length; j++, ix += g.Stride) dst[ix] += src[j];
                        }
                    }
                }
    }

    /// <summary>The output columns [lo, hi) whose input column j·stride − pad + kw lies in [0, width).</summary>
    private static (int Lo, int Hi) ValidRange(int kw, int width, int outWidth, int stride, int pad)
    {
        // j·s − pad + kw ≥ 0  ⇔  j ≥ ⌈(pad − kw) / s⌉;   j·s − pad + kw ≤ width − 1  ⇔  j ≤ ⌊(width − 1 + pad − kw) / s⌋.
        int lo = Math.Max(0, CeilDiv(pad - kw, stride));
        int hiIncl = FloorDiv(width - 1 + pad - kw, stride);
        int hi = Math.Min(outWidth, hiIncl + 1);
        return (lo, Math.Max(lo, hi));
    }

    private static int CeilDiv(int a, int b) => -FloorDiv(-a, b);

    private static int FloorDiv(int a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);
}
