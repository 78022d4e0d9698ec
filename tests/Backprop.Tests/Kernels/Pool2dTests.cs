using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>The graph's NCHW max pooling at every width against the window max taken in row-major order.</summary>
public sealed class Pool2dTests
{
    public static TheoryData<SimdWidth> Widths() => [.. Simd.AllWidths];

    [Theory]
    [MemberData(nameof(Widths))]
    public void MaxForwardIsTheMaxOfEachWindow(SimdWidth width)
    {
        foreach (var (h, w, k, s) in new[] { (6, 6, 2, 2), (7, 37, 3, 2), (5, 20, 3, 1), (4, 4, 4, 4), (9, 70, 2, 3) })
        {
            var g = new ConvGeometry(2, 3, h, w, k, k, s, 0);
            var x = KernelCases.Data(h * w + k, g.N * g.ImageSize);   // signs, ±0 and ties
            x[5] = float.NaN;                                           // propagates, as torch.max_pool2d
            var y = new float[g.N * g.C * g.P];
            Pool2dKernels.MaxForward(y, x, g, width);
            for (int pl = 0; pl < g.N * g.C; pl++)
                for (int oy = 0; oy < g.OH; oy++)
                    for (int ox = 0; ox < g.OW; ox++)
                    {
                        float m = float.NegativeInfinity;
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) m = MathF.Max(m, x[pl * h * w + (oy * s + ky) * w + ox * s + kx]);
                        float got = y[(pl * g.OH + oy) * g.OW + ox];
                        if (float.IsNaN(m)) Assert.True(float.IsNaN(got), $"window ({pl}, {oy}, {ox}) holds a NaN but gave {got}");
                        else Assert.Equal(BitConverter.SingleToInt32Bits(m), BitConverter.SingleToInt32Bits(got));
                    }
        }
    }
}
