using System.Buffers;

namespace Backprop.Kernels;

/// <summary>
/// 2-D convolution (cross-correlation, as PyTorch) as one im2col + GEMM per image, images spread over threads:
/// <c>Y[n, oc, oh, ow] = b[oc] + Σ_{c,kh,kw} W[oc, c, kh, kw] · X[n, c, oh·s − pad + kh, ow·s − pad + kw]</c>.
/// </summary>
/// <remarks>
/// <para>Shapes: X [N, C, H, W]; Wb [OC, K1], the weight [OC, K] (K = C·KH·KW, PyTorch's [OC, C, KH, KW] row-major)
/// with the bias appended as column K when there is one (K1 = K + 1); col [K1, P] (P = OH·OW), im2col of one image
/// plus a row of ones, so that <c>Y_n[OC, P] = Wb·col</c> adds the bias inside the GEMM and
/// <c>dWb += dY_n·colᵀ</c> yields db as dWb's last column. That sum is accumulated transposed, dWbᵀ[K1, OC] +=
/// col·dY_nᵀ, and transposed once at the end: OC (32, 64) fills the GEMM's 32-wide register tiles exactly, where K1
/// (10 for a 3×3 kernel on one channel) would waste two thirds of them.</para>
/// <para>Why per image rather than one GEMM over the batch's [K, N·P] columns: the batch-wide product writes
/// [OC, N·P], which then needs a transpose to NCHW (and dY one back), two extra passes over the largest tensors of a
/// CNN; per image the GEMM writes NCHW directly, and col and dcol stay one image's worth (≤ 226 KB for 32 channels of
/// 14×14), in cache, instead of the batch's (14 MB). The products stay well shaped (OC × P × K1, e.g. 64 × 196 × 289).
/// col is rebuilt in the backward pass rather than kept: im2col costs a small fraction of the GEMM beside it.</para>
/// <para>Forward cuts the batch into one chunk of whole images per thread. Backward cuts it into at most
/// <see cref="ConvParallel.MaxReductionChunks"/> chunks fixed by N alone, run over the threads, and dWb adds one
/// partial per chunk in chunk order, so results never depend on the thread count. <c>threads</c> defaults to
/// <see cref="Gemm.MaxThreads"/>. Arrays rather than spans because the work crosses threads; scratch comes from
/// <see cref="ArrayPool{T}.Shared"/>.</para>
/// </remarks>
internal static class Conv2dKernels
{
    /// <summary>Y [N, OC, P] = conv(X, W) + b, with <paramref name="wb"/> = [OC, K1] (see remarks).</summary>
    public static void Forward(float[] y, float[] x, float[] wb, int outChannels, bool bias, ConvGeometry g, int? threads = null)
    {
        int t = threads ?? Gemm.MaxThreads;
        ConvParallel.ForEachChunk(t, Math.Min(g.N, t), g.N, new ForwardImages(y, x, wb, outChannels, bias, g));
    }

    // Images [n0, n1): Y_n[OC, P] = Wb[OC, K1]·im2col(X_n), with one col and scratch per chunk.
    private readonly struct ForwardImages(float[] y, float[] x, float[] wb, int oc, bool bias, ConvGeometry g) : IChunkBody
    {
        public void Run(int chunk, int n0, int n1)
        {
            int k = g.K, k1 = k + (bias ? 1 : 0), p = g.P;
            var col = ArrayPool<float>.Shared.Rent(k1 * p);
            var scratch = ArrayPool<float>.Shared.Rent(Im2Col.ScratchSize(g));
            if (bias) col.AsSpan(k * p, p).Fill(1f);
            for (int n = n0; n < n1; n++)
            {
                Im2Col.Forward(col, x.AsSpan(n * g.ImageSize, g.ImageSize), scratch, g);
                Gemm.Multiply(y.AsSpan(n * oc * p, oc * p), wb, col, oc, p, k1);     // Y_n[OC, P] = Wb[OC, K1]·col[K1, P]
            }
            ArrayPool<float>.Shared.Return(col);
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// From dY [N, OC, P]: <paramref name="dwb"/> [OC, K1] += Σ_n dY_n·col_nᵀ (dW, and db in column K when
    /// <paramref name="bias"/>), and <paramref name="dx"/> [N, C, H, W] += col2im(Wᵀ·dY_n). Either may be null to skip it.
    /// </summary>
    public static void Backward(float[]? dx, float[]? dwb, float[] dy, float[] x, float[] w, int outChannels, bool bias, ConvGeometry g,
        int? threads = null)
    {
        int oc = outChannels, k1 = g.K + (bias ? 1 : 0), chunks = Math.Min(g.N, ConvParallel.MaxReductionChunks);
        var partials = dwb is null ? null : ArrayPool<float>.Shared.Rent(chunks * oc * k1);
        ConvParallel.ForEachChunk(threads ?? Gemm.MaxThreads, chunks, g.N, new BackwardImages(partials, dx, dy, x, w, outChannels, bias, g));
        if (partials is null || dwb is null) return;
        var sum = partials.AsSpan(0, k1 * oc);                            // chunk 0 += chunks 1.., in order
        for (int c = 1; c < chunks; c++) SimdDriver.Map<AddOperator>(sum, sum, partials.AsSpan(c * k1 * oc, k1 * oc), Simd.Width);
        for (int j = 0; j < k1; j++)                                       // dWb[o, j] += dWbᵀ[j, o]
            for (int o = 0; o < oc; o++) dwb[o * k1 + j] += sum[j * oc + o];
        ArrayPool<float>.Shared.Return(partials);
    }

    // Images [n0, n1) of chunk `chunk`: its partial dWbᵀ[K1, OC] (when partials is given) and dX of each image.
    private readonly struct BackwardImages(float[]? partials, float[]? dx, float[] dy, float[] x, float[] w, int oc, bool bias, ConvGeometry g) : IChunkBody
    {
        public void Run(int chunk, int n0, int n1)
        {
            int k = g.K, k1 = k + (bias ? 1 : 0), p = g.P;
            var col = partials is null ? null : ArrayPool<float>.Shared.Rent(k1 * p);
            var dcol = dx is null ? null : ArrayPool<float>.Shared.Rent(k * p);
            var scratch = ArrayPool<float>.Shared.Rent(Im2Col.ScratchSize(g));
            var part = partials is null ? default : partials.AsSpan(chunk * k1 * oc, k1 * oc);
            part.Clear();
            if (bias && col is not null) col.AsSpan(k * p, p).Fill(1f);
            for (int n = n0; n < n1; n++)
            {
                var dyn = dy.AsSpan(n * oc * p, oc * p);
                if (col is not null)
                {
                    Im2Col.Forward(col, x.AsSpan(n * g.ImageSize, g.ImageSize), scratch, g);
                    Gemm.Multiply(part, col, dyn, k1, oc, p, transB: true, accumulate: true);   // dWbᵀ[K1, OC] += col[K1, P]·dY_n[OC, P]ᵀ
                }
                if (dcol is not null)
                {
                    Gemm.Multiply(dcol, w, dyn, k, p, oc, transA: true);                       // dcol[K, P] = W[OC, K]ᵀ·dY_n[OC, P]
                    Im2Col.Backward(dx.AsSpan(n * g.ImageSize, g.ImageSize), dcol, scratch, g);
                }
            }
            if (col is not null) ArrayPool<float>.Shared.Return(col);
            if (dcol is not null) ArrayPool<float>.Shared.Return(dcol);
            ArrayPool<float>.Shared.Return(scratch);
        }
    }
}
