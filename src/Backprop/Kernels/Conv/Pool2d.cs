namespace Backprop.Kernels;

/// <summary>
/// Max and average pooling over KH×KW windows moved by a stride, without padding, on [N·C] independent planes
/// of H×W (each output [OH, OW]); the channel count does not matter, so <see cref="ConvGeometry.C"/> is folded into N.
/// </summary>
internal static class Pool2dKernels
{
    /// <summary>
    /// y = the max of each window; argmax = the index within the plane (iy·W + ix) of the first max in row-major
    /// window order (ties go to the earliest, as PyTorch), which the backward pass routes the gradient to.
    /// </summary>
    public static void MaxForward(Span<float> y, Span<int> argmax, ReadOnlySpan<float> x, in ConvGeometry g)
    {
        int planes = g.N * g.C, hw = g.H * g.W, oh = g.OH, ow = g.OW, s = g.Stride;
        for (int pl = 0; pl < planes; pl++)
        {
            var plane = x.Slice(pl * hw, hw);
            int o = pl * oh * ow;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++, o++)
                {
                    int best = oy * s * g.W + ox * s;
                    float m = plane[best];
                    for (int ky = 0; ky < g.KH; ky++)
                    {
                        int row = (oy * s + ky) * g.W + ox * s;
                        for (int kx = 0; kx < g.KW; kx++)
                            if (plane[row + kx] > m) { m = plane[row + kx]; best = row + kx; }   // strict: first max wins
                    }
                    y[o] = m;
                    argmax[o] = best;
                }
        }
    }

    /// <summary>The max gate: dx[argmax] += dy for each window (overlapping windows may add to the same pixel).</summary>
    public static void MaxBackward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<int> argmax, in ConvGeometry g)
    {
        int planes = g.N * g.C, hw = g.H * g.W, p = g.P;
        for (int pl = 0; pl < planes; pl++)
        {
            var plane = dx.Slice(pl * hw, hw);
            for (int o = pl * p, end = o + p; o < end; o++) plane[argmax[o]] += dy[o];
        }
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
