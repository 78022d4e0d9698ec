using System.Numerics.Tensors;

namespace Backprop.Kernels;

/// <summary>
/// 2-D convolution (cross-correlation, as PyTorch) of a batch as one GEMM over im2col:
/// <c>Y[n, oc, oh, ow] = b[oc] + Σ_{c,kh,kw} W[oc, c, kh, kw] · X[n, c, oh·s − pad + kh, ow·s − pad + kw]</c>.
/// </summary>
/// <remarks>
/// Shapes: X [N, C, H, W], W [OC, K] with K = C·KH·KW (PyTorch's [OC, C, KH, KW], row-major), b [OC],
/// Y [N, OC, P] with P = OH·OW; col [K, N·P] (see <see cref="Im2Col"/>); Y' [OC, N·P] is Y with batch and channel
/// swapped, the GEMM's natural output. The caller owns every buffer, so nothing here allocates.
/// </remarks>
internal static class Conv2dKernels
{
    /// <summary>
    /// Y = conv(X, W) + b, given col = im2col(X) already filled. <paramref name="yt"/> is scratch of OC·N·P floats.
    /// </summary>
    public static void Forward(Span<float> y, Span<float> yt, ReadOnlySpan<float> col, ReadOnlySpan<float> w,
        ReadOnlySpan<float> bias, int outChannels, in ConvGeometry g)
    {
        int oc = outChannels, p = g.P, cols = g.Columns;
        Gemm.Multiply(yt, w, col, oc, cols, g.K);                     // Y'[OC, N·P] = W[OC, K] · col[K, N·P]
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < oc; o++)
            {
                var src = yt.Slice(o * cols + n * p, p);
                var dst = y.Slice((n * oc + o) * p, p);
                if (bias.IsEmpty) src.CopyTo(dst);
                else TensorPrimitives.Add(src, bias[o], dst);
            }
    }

    /// <summary>
    /// From dY [N, OC, P]: dW [OC, K] += dY'·colᵀ, db [OC] += Σ dY over batch and pixels, and
    /// dcol [K, N·P] = Wᵀ·dY' (to be scattered into dX by <see cref="Im2Col.Backward"/>). Empty spans skip an output.
    /// <paramref name="dyt"/> is scratch of OC·N·P floats.
    /// </summary>
    public static void Backward(Span<float> dcol, Span<float> dw, Span<float> db, Span<float> dyt, ReadOnlySpan<float> dy,
        ReadOnlySpan<float> col, ReadOnlySpan<float> w, int outChannels, in ConvGeometry g)
    {
        int oc = outChannels, p = g.P, cols = g.Columns;
        for (int n = 0; n < g.N; n++)                                  // dY'[oc, n·P + p] = dY[n, oc, p]
            for (int o = 0; o < oc; o++)
                dy.Slice((n * oc + o) * p, p).CopyTo(dyt.Slice(o * cols + n * p, p));
        if (!db.IsEmpty)
            for (int o = 0; o < oc; o++) db[o] += TensorPrimitives.Sum(dyt.Slice(o * cols, cols));
        if (!dw.IsEmpty)                                               // dW[OC, K] += dY'[OC, N·P] · col[K, N·P]ᵀ
            Gemm.Multiply(dw, dyt, col, oc, g.K, cols, transB: true, accumulate: true);
        if (!dcol.IsEmpty)                                             // dcol[K, N·P] = W[OC, K]ᵀ · dY'[OC, N·P]
            Gemm.Multiply(dcol, w, dyt, g.K, cols, oc, transA: true);
    }
}
