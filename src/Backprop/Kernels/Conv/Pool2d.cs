namespace Backprop.Kernels;

/// <summary>
/// Max and average pooling over KH×KW windows moved by a stride, without padding, on [N·C] independent planes
/// of H×W (each output [OH, OW]); the channel count does not matter, so <see cref="ConvGeometry.C"/> is folded into N.
/// </summary>
internal static class Pool2dKernels
{
    /// <summary>y = the max of each window.</summary>
    public static void MaxForward(Span<float> y, ReadOnlySpan<float> x, in ConvGeometry g)
    {
        int planes = g.N * g.C, hw = g.H * g.W, oh = g.OH, ow = g.OW;
        for (int pl = 0; pl < planes; pl++)
        {
            var plane = x.Slice(pl * hw, hw);
            int o = pl * oh * ow;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++, o++)
                    y[o] = plane[ArgMax(plane, oy, ox, g)];
        }
    }

    /// <summary>
    /// The max gate: dx[argmax of each window] += dy (overlapping windows may add to the same pixel). The winner is
    /// found again from x rather than saved by the forward pass: the same comparisons give the same winner, and the
    /// forward pass writes nothing but y.
    /// </summary>
    public static void MaxBackward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, in ConvGeometry g)
    {
        int planes = g.N * g.C, hw = g.H * g.W, oh = g.OH, ow = g.OW;
        for (int pl = 0; pl < planes; pl++)
        {
            var plane = x.Slice(pl * hw, hw);
            var dplane = dx.Slice(pl * hw, hw);
            int o = pl * oh * ow;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++, o++)
                    dplane[ArgMax(plane, oy, ox, g)] += dy[o];
        }
    }

    /// <summary>
    /// The index within the plane (iy·W + ix) of the max of window (oy, ox); on ties the first in row-major window
    /// order, as PyTorch.
    /// </summary>
    private static int ArgMax(ReadOnlySpan<float> plane, int oy, int ox, in ConvGeometry g)
    {
        int s = g.Stride, best = oy * s * g.W + ox * s;
        float m = plane[best];
        for (int ky = 0; ky < g.KH; ky++)
        {
            int row = (oy * s + ky) * g.W + ox * s;
            for (int kx = 0; kx < g.KW; kx++)
                if (plane[row + kx] > m) { m = plane[row + kx]; best = row + kx; }   // strict: the first max wins
        }
        return best;
    }

    /// <summary>y = the mean of each KH×KW window.</summary>
    public static void AvgForward(Span<float> y, ReadOnlySpan<float> x, in ConvGeometry g)
    {
        int planes = g.N * g.C, hw = g.H * g.W, oh = g.OH, ow = g.OW, s = g.Stride;
        float scale = 1f / (g.KH * g.KW);
        for (int pl = 0; pl < planes; pl++)
        {
            var plane = x.Slice(pl * hw, hw);
            int o = pl * oh * ow;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++, o++)
                {
                    float sum = 0f;
                    for (int ky = 0; ky < g.KH; ky++)
                    {
                        int row = (oy * s + ky) * g.W + ox * s;
                        for (int kx = 0; kx < g.KW; kx++) sum += plane[row + kx];
                    }
                    y[o] = sum * scale;
                }
        }
    }

    /// <summary>dx += dy / (KH·KW) spread over each window.</summary>
    public static void AvgBackward(Span<float> dx, ReadOnlySpan<float> dy, in ConvGeometry g)
    {
        int planes = g.N * g.C, hw = g.H * g.W, oh = g.OH, ow = g.OW, s = g.Stride;
        float scale = 1f / (g.KH * g.KW);
        for (int pl = 0; pl < planes; pl++)
        {
            var plane = dx.Slice(pl * hw, hw);
            int o = pl * oh * ow;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++, o++)
                {
                    float share = dy[o] * scale;
                    for (int ky = 0; ky < g.KH; ky++)
                    {
                        int row = (oy * s + ky) * g.W + ox * s;
                        for (int kx = 0; kx < g.KW; kx++) plane[row + kx] += share;
                    }
                }
        }
    }
}
