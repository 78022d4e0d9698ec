using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>
/// A convolution's weight-gradient product with col's strips packed straight from the images gives the bits of
/// writing col out with im2col and multiplying its transpose, for every GEMM variant and geometries that cover
/// strips crossing from one tap to the next, padding, strides, several images and depths over one k-block.
/// </summary>
public sealed class Im2ColTransposedTests
{
    [Theory]
    [InlineData(1, 1, 28, 28, 3, 1, 1, 32)]    // one channel: every run is a single float
    [InlineData(2, 3, 7, 6, 3, 2, 1, 5)]       // three channels, stride 2, a non-square image
    [InlineData(1, 32, 14, 14, 3, 1, 1, 64)]   // 288 rows of A (two m-blocks), strips crossing taps
    [InlineData(3, 16, 9, 9, 3, 2, 0, 17)]     // no padding, odd output width
    [InlineData(2, 20, 5, 5, 1, 1, 0, 3)]      // 1×1 kernel: A is the images' channels transposed
    [InlineData(4, 5, 12, 12, 5, 1, 2, 40)]    // 5×5 taps, 576 pixels (two k-blocks)
    [InlineData(2, 9, 8, 7, 3, 2, 2, 6)]       // padding wider than a tap's offset: whole rows and columns of zeros
    [InlineData(2, 10, 6, 6, 3, 1, 2, 8)]      // runs of 10 and 4 channels (one vector and a tail)
    public void PackedFromTheImagesEqualsExplicitIm2ColBitForBit(int n, int c, int h, int w, int k, int stride, int pad, int outputs)
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
    }
}
