using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>
/// The compiled step's channels-last BatchNorm and AvgPool kernels against the kernels the autograd ops use, which are
/// their scalar twins: the same operations in the same order, so the results must be equal bit for bit, at every
/// vector width (run with DOTNET_EnableAVX2=0 or DOTNET_EnableHWIntrinsic=0 for the narrower ones) and for channel
/// counts below, at and between multiples of the width.
/// </summary>
public sealed class ChannelsLastNormPoolKernelTests
{
    private static float[] Random(int size, int seed, float offset = 0f)
    {
        var rng = new Rng(seed);
        var x = Tensor.RandomNormal([size], rng).ToArray();
        for (int i = 0; i < x.Length; i++) x[i] = 2f * x[i] + offset;
        return x;
    }

    [Theory]
    [InlineData(50, 1)]
    [InlineData(7, 3)]
    [InlineData(33, 8)]
    [InlineData(20, 12)]
    [InlineData(9, 37)]
    [InlineData(5, 64)]
    public void BatchNormRowsEqualsTheNchwKernelsWithOnePositionPerChannel(int rows, int c)
    {
        var x = Random(rows * c, 1, offset: 40f);   // |μ| ≫ σ: the case two passes in double are for
        var gamma = Random(c, 2);
        var beta = Random(c, 3);
        var dy = Random(rows * c, 4);

        // Forward: statistics, then y = relu(x·scale + shift).
        float[] mean = new float[c], variance = new float[c], wantMean = new float[c], wantVar = new float[c];
        BatchNormRows.Statistics(mean, variance, x, rows, c, new double[2 * c]);
        BatchNormKernels.Statistics(wantMean, wantVar, x, rows, c, 1);
        Assert.Equal(wantMean, mean);
        Assert.Equal(wantVar, variance);
        float[] invStd = new float[c], scale = new float[c], shift = new float[c];
        BatchNormKernels.InverseStd(invStd, variance, 1e-5f);
        BatchNormKernels.ScaleShift(scale, shift, mean, invStd, gamma, beta);
        var y = new float[rows * c];
        var want = new float[rows * c];
        BatchNormRows.Normalize(y, x, scale, shift, rows, c, ActivationKind.Relu, 0f);
        BatchNormKernels.Affine(want, x, scale, shift, rows, c, 1);
        DenseKernels.BiasActivateRows(want, [], rows, c, ActivationKind.Relu, 0f);
        Assert.Equal(want, y);
        BatchNormRows.Normalize(y, x, scale, shift, rows, c, ActivationKind.LeakyRelu, 0.1f);
        BatchNormKernels.Affine(want, x, scale, shift, rows, c, 1);
        DenseKernels.BiasActivateRows(want, [], rows, c, ActivationKind.LeakyRelu, 0.1f);
        Assert.Equal(want, y);

        // Backward through the leaky ReLU: G = dY ⊙ act'(Y), the per-channel sums, then dX.
        var g = (float[])dy.Clone();
        var wantG = new float[rows * c];
        DenseKernels.ActivationBackward(wantG, dy, y, rows * c, ActivationKind.LeakyRelu, 0.1f);
        float[] dGamma = new float[c], dBeta = new float[c], wantDGamma = new float[c], wantDBeta = new float[c];
        BatchNormRows.GradientSums(dGamma, dBeta, g, y, 0.1f, x, mean, invStd, rows, c, new double[2 * c]);
        BatchNormKernels.ParameterGradients(wantDGamma, wantDBeta, wantG, x, mean, invStd, rows, c, 1);
        Assert.Equal(wantG, g);
        Assert.Equal(wantDBeta, dBeta);
        Assert.Equal(wantDGamma, dGamma);
        var dx = new float[rows * c];
        var wantDx = new float[rows * c];
        BatchNormRows.BackwardTraining(dx, g, x, mean, invStd, gamma, dGamma, dBeta, rows, c, new float[3 * c]);
        BatchNormKernels.BackwardTraining(wantDx, wantG, x, mean, invStd, gamma, wantDGamma, wantDBeta, rows, c, 1);
        Assert.Equal(wantDx, dx);

        // Without a fused activation (NaN slope) g is left as it is; without γ the scale is 1.
        BatchNormRows.GradientSums(dGamma, dBeta, g, [], float.NaN, x, mean, invStd, rows, c, new double[2 * c]);
        Assert.Equal(wantG, g);
        BatchNormRows.BackwardTraining(dx, g, x, mean, invStd, [], dGamma, dBeta, rows, c, new float[3 * c]);
        BatchNormKernels.BackwardTraining(wantDx, wantG, x, mean, invStd, [], wantDGamma, wantDBeta, rows, c, 1);
        Assert.Equal(wantDx, dx);
    }

    [Theory]
    [InlineData(3, 8, 8, 2, 2)]     // tiling windows, three channels (scalar tail only)
    [InlineData(8, 7, 9, 3, 2)]     // overlapping windows, odd sizes, one vector of channels
    [InlineData(13, 6, 6, 2, 1)]    // stride 1: every inner pixel in four windows; a vector and a tail
    [InlineData(32, 5, 5, 5, 5)]    // one window covering the whole image
    public void AvgPoolEqualsTheNchwKernels(int c, int h, int w, int k, int s)
    {
        const int n = 2;
        int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
        var x = Random(n * c * h * w, 5);   // NCHW
        var dy = Random(n * c * oh * ow, 6);
        var g = new ConvGeometry(n, c, h, w, k, k, s, 0);

        var want = new float[n * c * oh * ow];
        Pool2dKernels.AvgForward(want, x, g);
        var xl = new float[x.Length];
        ChannelsLast.TransposeEach(xl, x, n, c, h * w);
        var y = new float[want.Length];
        ChannelsLastAvgPool.Forward(y, xl, n, h, w, c, k, s);
        var yn = new float[y.Length];
        ChannelsLast.TransposeEach(yn, y, n, oh * ow, c);
        Assert.Equal(want, yn);

        var wantDx = new float[x.Length];
        Pool2dKernels.AvgBackward(wantDx, dy, g);
        var dyl = new float[dy.Length];
        ChannelsLast.TransposeEach(dyl, dy, n, c, oh * ow);
        var dx = Enumerable.Repeat(float.NaN, x.Length).ToArray();   // overwritten, not accumulated
        ChannelsLastAvgPool.Backward(dx, dyl, n, h, w, c, k, s);
        var dxn = new float[dx.Length];
        ChannelsLast.TransposeEach(dxn, dx, n, h * w, c);
        Assert.Equal(wantDx, dxn);
    }
}
