using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>
/// The im2col + GEMM convolution against a naive direct convolution in double precision at odd sizes (batch > 1,
/// channels > 1, strides 1–3, paddings 0–2, non-square images and kernels), for the forward value and all three
/// gradients; and col2im as the exact adjoint of im2col.
/// </summary>
public sealed class ConvKernelTests
{
    public static TheoryData<int, int, int, int, int, int, int, int, int> Geometries() => new()
    {
        // N, C, H, W, OC, KH, KW, stride, pad
        { 1, 1, 5, 5, 1, 3, 3, 1, 0 },
        { 3, 2, 7, 9, 5, 3, 3, 1, 1 },
        { 2, 3, 11, 6, 4, 5, 5, 2, 2 },
        { 2, 1, 8, 13, 33, 3, 2, 3, 1 },
        { 5, 7, 6, 5, 3, 1, 1, 1, 0 },
        { 2, 4, 9, 9, 17, 4, 3, 2, 0 },
        { 4, 16, 14, 14, 32, 3, 3, 1, 1 },
        { 2, 2, 20, 21, 3, 3, 3, 1, 2 },   // runs of 21 and 22: two whole vectors plus an overlapping / scalar tail
        { 1, 3, 12, 19, 2, 5, 5, 1, 0 },   // runs of 15
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Im2ColGemmMatchesDirectConvolution(int n, int c, int h, int w, int oc, int kh, int kw, int stride, int pad)
    {
        var g = new ConvGeometry(n, c, h, w, kh, kw, stride, pad);
        var rng = new Rng(n * 1000 + c * 100 + h);
        var x = Tensor.RandomNormal([n, c, h, w], rng).RequireGrad();
        var wt = Tensor.RandomNormal([oc, c, kh, kw], rng, std: 0.3f).RequireGrad();
        var b = Tensor.RandomNormal([oc], rng).RequireGrad();
        var r = Tensor.RandomNormal([n, oc, g.OH, g.OW], rng);
        var y = x.Conv2d(wt, b, stride, pad);
        (y * r).Sum().Backward();

        var (ey, edx, edw, edb) = Direct(x.ToArray(), wt.ToArray(), b.ToArray(), r.ToArray(), oc, g);
        // float32 sums of K (≤ 144) or N·P (≤ 784) terms against exact double sums.
        AssertClose(ey, y.ToArray(), 1e-4, "Y");
        AssertClose(edx, x.Grad!.ToArray(), 1e-4, "dX");
        AssertClose(edw, wt.Grad!.ToArray(), 3e-4, "dW");
        AssertClose(edb, b.Grad!.ToArray(), 3e-4, "db");
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Col2ImIsTheAdjointOfIm2Col(int n, int c, int h, int w, int oc, int kh, int kw, int stride, int pad)
    {
        _ = (n, oc);
        // ⟨im2col(x), v⟩ = ⟨x, col2im(v)⟩ for all x, v: the definition of the adjoint that backward needs.
        var g = new ConvGeometry(1, c, h, w, kh, kw, stride, pad);
        var rng = new Rng(h * 31 + w);
        var x = Tensor.RandomNormal([c, h, w], rng).ToArray();
        var v = Tensor.RandomNormal([g.K, g.P], rng).ToArray();
        var col = new float[g.K * g.P];
        Array.Fill(col, float.NaN);   // every entry must be written, padding included
        Im2Col.Forward(col, x, new float[Im2Col.ScratchSize(g)], g);
        var back = new float[x.Length];
        Im2Col.Backward(back, v, new float[Im2Col.ScratchSize(g)], g);
        double lhs = 0, rhs = 0;
        for (int i = 0; i < col.Length; i++) lhs += (double)col[i] * v[i];
        for (int i = 0; i < x.Length; i++) rhs += (double)x[i] * back[i];
        Assert.Equal(lhs, rhs, 1e-3 * (1 + Math.Abs(lhs)));
    }

    [Fact]
    public void ResultsDoNotDependOnTheThreadCount()
    {
        // Forward and pooling split the batch per thread with no reduction; backward cuts it into chunks fixed by N
        // (70 images: more than the 64 reduction chunks, so chunks hold 1 or 2) and dW sums the chunks' partials in order.
        var g = new ConvGeometry(70, 3, 9, 8, 3, 3, 1, 1);
        int oc = 5;
        var x = Tensor.RandomNormal([g.N, g.C, g.H, g.W], 1).ToArray();
        var wb = Tensor.RandomNormal([oc, g.K + 1], 2).ToArray();
        var w = new float[oc * g.K];
        for (int o = 0; o < oc; o++) Array.Copy(wb, o * (g.K + 1), w, o * g.K, g.K);
        var pool = g with { C = oc, KH = 2, KW = 2, Stride = 2, Pad = 0 };
        float[][] Run(int threads)
        {
            var y = new float[g.N * oc * g.P];
            Conv2dKernels.Forward(y, x, wb, oc, bias: true, g, threads);
            var dx = new float[x.Length];
            var dwb = new float[wb.Length];
            Conv2dKernels.Backward(dx, dwb, y, x, w, oc, bias: true, g, threads);
            var pooled = new float[g.N * oc * pool.P];
            Pool2dKernels.MaxForward(pooled, y, pool, threads);
            var dy = new float[y.Length];
            Pool2dKernels.MaxBackward(dy, pooled, y, pool, threads);
            Pool2dKernels.AvgBackward(dy, pooled, pool, threads);
            return [y, dx, dwb, pooled, dy];
        }
        var one = Run(1);
        Assert.Contains(one[2], v => v != 0f);
        foreach (int threads in new[] { 2, 3, 8 })
        {
            var many = Run(threads);
            for (int i = 0; i < one.Length; i++) Assert.Equal(one[i], many[i]);
        }
    }

    /// <summary>Y, and dX, dW, db of L = Σ Y ⊙ R, by the definition of the convolution, in double.</summary>
    private static (double[] Y, double[] Dx, double[] Dw, double[] Db) Direct(float[] x, float[] w, float[] b, float[] r, int oc, ConvGeometry g)
    {
        var y = new double[g.N * oc * g.P];
        var dx = new double[x.Length];
        var dw = new double[w.Length];
        var db = new double[oc];
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < oc; o++)
                for (int oy = 0; oy < g.OH; oy++)
                    for (int ox = 0; ox < g.OW; ox++)
                    {
                        int yi = ((n * oc + o) * g.OH + oy) * g.OW + ox;
                        double sum = b[o], gr = r[yi];
                        db[o] += gr;
                        for (int c = 0; c < g.C; c++)
                            for (int ky = 0; ky < g.KH; ky++)
                                for (int kx = 0; kx < g.KW; kx++)
                                {
                                    int iy = oy * g.Stride - g.Pad + ky, ix = ox * g.Stride - g.Pad + kx;
                                    if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
                                    int xi = ((n * g.C + c) * g.H + iy) * g.W + ix, wi = ((o * g.C + c) * g.KH + ky) * g.KW + kx;
                                    sum += (double)w[wi] * x[xi];
                                    dx[xi] += gr * w[wi];
                                    dw[wi] += gr * x[xi];
                                }
                        y[yi] = sum;
                    }
        return (y, dx, dw, db);
    }

    private static void AssertClose(double[] expected, float[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tol * (1 + Math.Abs(expected[i])),
                $"{what}[{i}] = {actual[i]:G9}, expected {expected[i]:G9}");
    }
}
