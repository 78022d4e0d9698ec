using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>
/// A convolution's products with col's strips packed straight from the images — the forward col·Wr and the weight
/// gradient colᵀ·dZ — give the bits of writing col out with im2col and multiplying it, for every GEMM variant and
/// geometries that cover strips crossing from one tap (or pixel row, or image) to the next, padding, strides, several
/// images and depths over one k-block.
/// </summary>
public sealed class ImplicitIm2ColTests
{
    [Theory]
    [MemberData(nameof(Geometries))]
    public void TheForwardProductFromTheImagesEqualsExplicitIm2ColBitForBit(int n, int c, int h, int w, int k, int stride, int pad, int outputs)
    {
        var g = new ConvGeometry(n, c, h, w, k, k, stride, pad);
        int rows = n * g.P;
        var x = KernelCases.Data(c + h, n * g.ImageSize);
        var wr = KernelCases.Data(outputs + 5, g.K * outputs);
        var col = new float[rows * g.K];
        ChannelsLast.Im2Col(col, x, g);
        foreach (var variant in (GemmVariant[])[GemmVariant.Scalar, .. GemmReference.Variants])
        {
            var expected = KernelCases.Data(4, rows * outputs);
            var actual = (float[])expected.Clone();
            Gemm.Multiply(variant, 1, expected, col, wr, rows, outputs, g.K, transA: false, transB: false, accumulate: true, packedOnly: true);
            Gemm.MultiplyIm2Col(variant, actual, x, g, wr, outputs, accumulate: true);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{variant}: the product from the images differs from col's");

            Gemm.Multiply(variant, 1, expected, col, wr, rows, outputs, g.K, transA: false, transB: false, accumulate: false, packedOnly: true);
            Gemm.MultiplyIm2Col(variant, actual, x, g, wr, outputs, accumulate: false);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{variant}: overwriting differs");
        }
    }

    public static TheoryData<int, int, int, int, int, int, int, int> Geometries => new()
    {
        { 1, 1, 28, 28, 3, 1, 1, 32 },    // one channel: every run is a single float
        { 2, 3, 7, 6, 3, 2, 1, 5 },       // three channels, stride 2, a non-square image
        { 1, 32, 14, 14, 3, 1, 1, 64 },   // 288 columns, strips crossing pixel rows
        { 3, 16, 9, 9, 3, 2, 0, 17 },     // no padding, odd output width, strips crossing images
        { 2, 20, 5, 5, 1, 1, 0, 3 },      // 1×1 kernel
        { 4, 5, 12, 12, 5, 1, 2, 40 },    // 5×5 taps, 576 pixels
        { 2, 9, 8, 7, 3, 2, 2, 6 },       // padding wider than a tap's offset: whole rows and columns of zeros
        { 2, 10, 6, 6, 3, 1, 2, 8 },      // runs of 10 and 4 channels (one vector and a tail)
        { 1, 64, 6, 6, 3, 1, 1, 9 },      // 576 columns: two k-blocks of 288, each ending inside a kernel row's run
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void TheWeightGradientFromTheImagesEqualsExplicitIm2ColBitForBit(int n, int c, int h, int w, int k, int stride, int pad, int outputs)
    {
        var g = new ConvGeometry(n, c, h, w, k, k, stride, pad);
        int rows = n * g.P;
        var x = KernelCases.Data(c + h, n * g.ImageSize);
        var dz = KernelCases.Data(outputs + 7, rows * outputs);
        var col = new float[rows * g.K];
        ChannelsLast.Im2Col(col, x, g);
        foreach (var variant in (GemmVariant[])[GemmVariant.Scalar, .. GemmReference.Variants])
        {
            var expected = KernelCases.Data(3, g.K * outputs);
            var actual = (float[])expected.Clone();
            Gemm.Multiply(variant, 1, expected, col, dz, g.K, outputs, rows, transA: true, transB: false, accumulate: true, packedOnly: true);
            Gemm.MultiplyIm2ColTransposed(variant, actual, x, g, dz, outputs, accumulate: true);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{variant}: the product from the images differs from col's");

            Gemm.Multiply(variant, 1, expected, col, dz, g.K, outputs, rows, transA: true, transB: false, accumulate: false, packedOnly: true);
            Gemm.MultiplyIm2ColTransposed(variant, actual, x, g, dz, outputs, accumulate: false);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{variant}: overwriting differs");
        }
    }

    [Fact]
    public void TooFewValuesAreNamed()
    {
        var g = new ConvGeometry(2, 3, 5, 5, 3, 3, 1, 1);
        var error = Assert.Throws<ArgumentException>(() =>
            Gemm.MultiplyIm2ColTransposed(Gemm.Variant, new float[g.K * 4], new float[g.ImageSize], g, new float[2 * g.P * 4], 4, false));
        Assert.Contains($"images ≥ {2 * g.ImageSize}", error.Message);
        error = Assert.Throws<ArgumentException>(() =>
            Gemm.MultiplyIm2Col(Gemm.Variant, new float[2 * g.P * 4], new float[g.ImageSize], g, new float[g.K * 4], 4, false));
        Assert.Contains($"images ≥ {2 * g.ImageSize}", error.Message);
    }
}
