using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>
/// The direct convolution for a small fan-in (a first layer on grey or colour images): its forward has the bits of the
/// GEMM on the explicit im2col matrix (the same fused multiply-adds in the same order), its weight gradient equals
/// colᵀ·dZ summed in double, and every width gives the scalar twin's bits (also in <see cref="KernelSelfTest"/>).
/// </summary>
public sealed class SmallConvTests
{
    public static TheoryData<int, int, int, int, int, int, int, int> Geometries => new()
    {
        { 2, 1, 28, 28, 3, 1, 1, 32 },   // the reference CNN's first layer
        { 1, 3, 9, 7, 3, 2, 1, 16 },     // colour, stride 2, a non-square image: fan-in 27
        { 3, 1, 8, 8, 5, 1, 2, 20 },     // 5×5 taps (25) on one channel, channels not a multiple of 16
        { 1, 2, 6, 9, 3, 1, 0, 7 },      // no padding, an odd output width (blocks of 4 and single pixels)
        { 2, 1, 4, 4, 3, 1, 2, 3 },      // padding wider than the image's edge taps: windows of zeros
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void TheForwardHasTheBitsOfTheGemmOnIm2Col(int n, int c, int h, int w, int k, int stride, int pad, int outputs)
    {
        var g = new ConvGeometry(n, c, h, w, k, k, stride, pad);
        int rows = n * g.P;
        var x = KernelCases.Data(c + h, n * g.ImageSize);
        var wr = KernelCases.Data(outputs + 5, g.K * outputs);
        var col = new float[rows * g.K];
        ChannelsLast.Im2Col(col, x, g);
        var expected = new float[rows * outputs];
        Gemm.Multiply(GemmVariant.Scalar, 1, expected, col, wr, rows, outputs, g.K, false, false, false, packedOnly: true);
        foreach (var width in Simd.AllWidths)
        {
            var actual = KernelCases.Data(2, rows * outputs);   // overwritten
            SmallConv.Forward(actual, x, g, wr, outputs, width);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{width}: the direct forward differs from the GEMM's bits");
        }
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void TheWeightGradientIsColTransposedTimesDz(int n, int c, int h, int w, int k, int stride, int pad, int outputs)
    {
        var g = new ConvGeometry(n, c, h, w, k, k, stride, pad);
        int rows = n * g.P;
        var x = KernelCases.Data(c + h, n * g.ImageSize);
        var dz = KernelCases.Data(outputs + 7, rows * outputs);
        var col = new float[rows * g.K];
        ChannelsLast.Im2Col(col, x, g);
        var reference = GemmReference.Multiply(new float[g.K * outputs], col, dz, g.K, outputs, rows, transA: true, transB: false, accumulate: false);
        float[]? scalar = null;
        foreach (var width in Simd.AllWidths)
        {
            var actual = KernelCases.Data(3, g.K * outputs);   // overwritten
            SmallConv.WeightGradient(actual, x, g, dz, outputs, width);
            for (int i = 0; i < actual.Length; i++)
                Assert.True(Math.Abs(actual[i] - reference[i]) <= 1e-5 * (1 + Math.Abs(reference[i])) * rows,
                    $"{width}: dW[{i}] = {actual[i]}, colᵀ·dZ = {reference[i]}");
            scalar ??= actual;
            Assert.True(scalar.AsSpan().SequenceEqual(actual), $"{width}: differs from the scalar twin's bits");
        }
    }

    [Fact]
    public void AFanInTooLargeOrTooFewValuesAreNamed()
    {
        var wide = new ConvGeometry(1, 4, 5, 5, 3, 3, 1, 1);   // fan-in 36
        var error = Assert.Throws<ArgumentException>(() =>
            SmallConv.Forward(new float[wide.P * 2], new float[wide.ImageSize], wide, new float[wide.K * 2], 2, Simd.Width));
        Assert.Contains("fan-in ≤ 32", error.Message);
        Assert.False(SmallConv.Fits(wide));
        var g = new ConvGeometry(2, 1, 5, 5, 3, 3, 1, 1);
        error = Assert.Throws<ArgumentException>(() =>
            SmallConv.WeightGradient(new float[g.K * 2], new float[g.ImageSize], g, new float[g.N * g.P * 2], 2, Simd.Width));
        Assert.Contains($"images ≥ {2 * g.ImageSize}", error.Message);
    }
}
