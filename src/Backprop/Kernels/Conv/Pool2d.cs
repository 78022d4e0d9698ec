using System.Buffers;
using System.Runtime.CompilerServices;

namespace Backprop.Kernels;

/// <summary>
/// Max and average pooling over KH×KW windows moved by a stride, without padding, on N·C independent planes of H×W
/// (each output [OH, OW]); <see cref="ConvGeometry.N"/>·<see cref="ConvGeometry.C"/> planes are cut into one chunk
/// per thread (<c>threads</c>, default <see cref="Gemm.MaxThreads"/>); there is no reduction across planes, so the
/// split cannot change a result. Arrays rather than spans because the work crosses threads.
/// </summary>
internal static unsafe class Pool2dKernels
{
    /// <summary>y = the max of each window.</summary>
    public static void MaxForward(float[] y, float[] x, ConvGeometry g, int? threads = null) => MaxForward(y, x, g, Simd.Width, threads);

    /// <summary>
    /// <see cref="MaxForward(float[], float[], ConvGeometry, int?)"/> at a given width. Each output row takes two passes:
    /// the max down the KH input rows of its windows, for every column any window reads (contiguous, so whole
    /// vectors), then the max across each window's KW columns. MathF.Max and the vector Max are the IEEE maximum
    /// (NaN propagates, +0 &gt; −0), for which the order of a max over a window does not change the result.
    /// </summary>
    internal static void MaxForward(float[] y, float[] x, ConvGeometry g, SimdWidth width, int? threads = null) => ForEachPlanes(g, threads, new MaxForwardPlanes(y, x, g, width));

    /// <summary>
    /// The max gate: dx[argmax of each window] += dy (overlapping windows may add to the same pixel). The winner is
    /// found again from x rather than saved by the forward pass: the same comparisons give the same winner, and the
    /// forward pass writes nothing but y.
    /// </summary>
    public static void MaxBackward(float[] dx, float[] dy, float[] x, ConvGeometry g, int? threads = null) => ForEachPlanes(g, threads, new MaxBackwardPlanes(dx, dy, x, g));

    /// <summary>
    /// The index within the plane of the max of the kh×kw window whose top-left is <paramref name="start"/>; on ties
    /// the first in row-major window order, and a NaN wins over any number (so it propagates), both as PyTorch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ArgMax(float* plane, int start, int width, int kh, int kw)
    {
        int best = start;
        float m = plane[start];
        for (int ky = 0, row = start; ky < kh; ky++, row += width)
            for (int kx = 0; kx < kw; kx++)
            {
                // Strict: the first max wins. No branch: which element wins is a coin toss on real data, and a
                // mispredicted branch per element made this 6× slower (measured), so the winner is picked with a
                // 0/−1 mask, and MathF.Max (which propagates NaN) keeps m.
                float v = plane[row + kx];
                bool take = v > m | float.IsNaN(v);
                best += (row + kx - best) & -Unsafe.As<bool, byte>(ref take);
                m = MathF.Max(m, v);
            }
        return best;
    }

    /// <summary>y = the mean of each KH×KW window.</summary>
    public static void AvgForward(float[] y, float[] x, ConvGeometry g, int? threads = null) => AvgForward(y, x, g, Simd.Width, threads);

    /// <summary>
    /// <see cref="AvgForward(float[], float[], ConvGeometry, int?)"/> at a given width. Each window is summed from 0 in
    /// row-major order and the sum multiplied by 1/(KH·KW). With stride 1 the windows of an output row start at
    /// consecutive columns, so each window element (ky, kx) is one contiguous run of OW inputs, added to the row's OW
    /// sums through <see cref="SimdDriver"/> in that same order: the same bits as the scalar loop. Strided windows
    /// read every s-th column, which vectors could only reach by a gather or a deinterleave, so they stay scalar.
    /// </summary>
    internal static void AvgForward(float[] y, float[] x, ConvGeometry g, SimdWidth width, int? threads = null) => ForEachPlanes(g, threads, new AvgForwardPlanes(y, x, g, width));

    /// <summary>dx += dy / (KH·KW) spread over each window.</summary>
    public static void AvgBackward(float[] dx, float[] dy, ConvGeometry g, int? threads = null) => AvgBackward(dx, dy, g, Simd.Width, threads);

    /// <summary>
    /// <see cref="AvgBackward(float[], float[], ConvGeometry, int?)"/> at a given width. Each pixel receives its windows'
    /// shares dy·1/(KH·KW) in row-major order of the windows. With stride 1 a row of shares is added to the run of OW
    /// pixels at each (ky, kx) through <see cref="SimdDriver"/>, kx from KW − 1 down to 0: a pixel's windows in one
    /// output row then arrive with ox ascending, as in the scalar loop, so the sums are the same bits. Strided windows
    /// stay scalar (see <see cref="AvgForward(float[], float[], ConvGeometry, SimdWidth, int?)"/>).
    /// </summary>
    internal static void AvgBackward(float[] dx, float[] dy, ConvGeometry g, SimdWidth width, int? threads = null) => ForEachPlanes(g, threads, new AvgBackwardPlanes(dx, dy, g, width));

    // Planes [p0, p1) of each chunk, in a struct per kernel (its fields the arguments): no closure per call.
    private static void ForEachPlanes<TBody>(ConvGeometry g, int? threads, in TBody body) where TBody : struct, IChunkBody
    {
        int planes = g.N * g.C, t = threads ?? Gemm.MaxThreads;
        if (g.OH <= 0 || g.OW <= 0 || (long)planes * g.H * g.W == 0) return;
        ConvParallel.ForEachChunk(t, Math.Min(planes, t), planes, body);
    }

    private readonly struct MaxForwardPlanes(float[] y, float[] x, ConvGeometry g, SimdWidth width) : IChunkBody
    {
        public void Run(int chunk, int p0, int p1)
        {
            int hw = g.H * g.W, oh = g.OH, ow = g.OW, s = g.Stride, used = (ow - 1) * s + g.KW;   // columns the windows read
            float[] rented = ArrayPool<float>.Shared.Rent(used);
            var down = rented.AsSpan(0, used);
            for (int pl = p0; pl < p1; pl++)
            {
                var plane = x.AsSpan(pl * hw, hw);
                var o = y.AsSpan(pl * oh * ow, oh * ow);
                for (int oy = 0; oy < oh; oy++)
                {
                    int top = oy * s * g.W;
                    plane.Slice(top, used).CopyTo(down);
                    for (int ky = 1; ky < g.KH; ky++)
                        SimdDriver.Map<MaxOperator>(down, down, plane.Slice(top + ky * g.W, used), width);
                    for (int ox = 0; ox < ow; ox++)
                    {
                        float m = down[ox * s];
                        for (int kx = 1; kx < g.KW; kx++) m = MathF.Max(m, down[ox * s + kx]);
                        o[oy * ow + ox] = m;
                    }
                }
            }
            ArrayPool<float>.Shared.Return(rented);
        }
    }

    private readonly struct MaxBackwardPlanes(float[] dx, float[] dy, float[] x, ConvGeometry g) : IChunkBody
    {
        public void Run(int chunk, int p0, int p1)
        {
            int hw = g.H * g.W, oh = g.OH, ow = g.OW, s = g.Stride;
            fixed (float* px = x, pdx = dx, pdy = dy)
                for (int pl = p0; pl < p1; pl++)
                {
                    float* plane = px + (long)pl * hw, dplane = pdx + (long)pl * hw, d = pdy + (long)pl * oh * ow;
                    for (int oy = 0; oy < oh; oy++)
                        for (int ox = 0; ox < ow; ox++)
                            dplane[ArgMax(plane, oy * s * g.W + ox * s, g.W, g.KH, g.KW)] += *d++;
                }
        }
    }

    private readonly struct AvgForwardPlanes(float[] y, float[] x, ConvGeometry g, SimdWidth width) : IChunkBody
    {
        public void Run(int chunk, int p0, int p1)
        {
            int hw = g.H * g.W, oh = g.OH, ow = g.OW, s = g.Stride;
            float scale = 1f / (g.KH * g.KW);
            if (s == 1 && width > SimdWidth.Scalar)
            {
                for (int pl = p0; pl < p1; pl++)
                {
                    var plane = x.AsSpan(pl * hw, hw);
                    for (int oy = 0; oy < oh; oy++)
                    {
                        var row = y.AsSpan((pl * oh + oy) * ow, ow);
                        int top = oy * g.W;
                        SimdDriver.Map<AddOperator>(row, plane.Slice(top, ow), 0f, width);   // 0 + x, as the scalar sum starts (−0 becomes +0)
                        for (int ky = 0; ky < g.KH; ky++)
                            for (int kx = ky == 0 ? 1 : 0; kx < g.KW; kx++)
                                SimdDriver.Map<AddOperator>(row, row, plane.Slice(top + ky * g.W + kx, ow), width);
                        SimdDriver.Map<MultiplyOperator>(row, row, scale, width);
                    }
                }
                return;
            }
            fixed (float* px = x, py = y)
                for (int pl = p0; pl < p1; pl++)
                {
                    float* plane = px + (long)pl * hw, o = py + (long)pl * oh * ow;
                    for (int oy = 0; oy < oh; oy++)
                        for (int ox = 0; ox < ow; ox++)
                        {
                            float sum = 0f;
                            for (int ky = 0, row = oy * s * g.W + ox * s; ky < g.KH; ky++, row += g.W)
                                for (int kx = 0; kx < g.KW; kx++) sum += plane[row + kx];
                            *o++ = sum * scale;
                        }
                }
        }
    }

    private readonly struct AvgBackwardPlanes(float[] dx, float[] dy, ConvGeometry g, SimdWidth width) : IChunkBody
    {
        public void Run(int chunk, int p0, int p1)
        {
            int hw = g.H * g.W, oh = g.OH, ow = g.OW, s = g.Stride;
            float scale = 1f / (g.KH * g.KW);
            if (s == 1 && width > SimdWidth.Scalar)
            {
                float[] rented = ArrayPool<float>.Shared.Rent(ow);
                var share = rented.AsSpan(0, ow);
                for (int pl = p0; pl < p1; pl++)
                {
                    var dplane = dx.AsSpan(pl * hw, hw);
                    for (int oy = 0; oy < oh; oy++)
                    {
                        SimdDriver.Map<MultiplyOperator>(share, dy.AsSpan((pl * oh + oy) * ow, ow), scale, width);
                        for (int ky = 0; ky < g.KH; ky++)
                            for (int kx = g.KW - 1; kx >= 0; kx--)
                            {
                                var run = dplane.Slice((oy + ky) * g.W + kx, ow);
                                SimdDriver.Map<AddOperator>(run, run, share, width);
                            }
                    }
                }
                ArrayPool<float>.Shared.Return(rented);
                return;
            }
            fixed (float* pdx = dx, pdy = dy)
                for (int pl = p0; pl < p1; pl++)
                {
                    float* dplane = pdx + (long)pl * hw, d = pdy + (long)pl * oh * ow;
                    for (int oy = 0; oy < oh; oy++)
                        for (int ox = 0; ox < ow; ox++)
                        {
                            float share = *d++ * scale;
                            for (int ky = 0, row = oy * s * g.W + ox * s; ky < g.KH; ky++, row += g.W)
                                for (int kx = 0; kx < g.KW; kx++) dplane[row + kx] += share;
                        }
                }
        }
    }
}
