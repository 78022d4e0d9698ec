using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>The element-wise driver: operands of one length, in place allowed, rows with a broadcast row operand.</summary>
public sealed class SimdDriverTests
{
    [Fact]
    public void OperandsOfAnotherLengthAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => SimdDriver.Map<AddOperator>(new float[5], new float[5], new float[4], SimdWidth.Vector256));
        Assert.Contains("y", e.Message);
        Assert.Contains("5", e.Message);
        Assert.Contains("4", e.Message);
        Assert.Throws<ArgumentException>(() => SimdDriver.MapRows<BiasReluOperator>(new float[10], new float[10], new float[4], 4, SimdWidth.Scalar));
        Assert.Throws<ArgumentException>(() => SimdDriver.MapRows<BiasReluOperator>(new float[8], new float[8], new float[3], 4, SimdWidth.Scalar));
    }

    [Theory]
    [InlineData(SimdWidth.Scalar)]
    [InlineData(SimdWidth.Vector128)]
    [InlineData(SimdWidth.Vector256)]
    [InlineData(SimdWidth.Vector512)]
    public void ALongMapSplitOverTheCoresGivesTheBitsOfShortOnes(SimdWidth width)
    {
        // Long enough to be split over the cores (when there are several), odd so the last part has a tail; the
        // reference maps it in pieces too short to split.
        int n = 3 * SimdDriver.ParallelMinLength + 37, piece = 1000;
        var x = KernelCases.Data(5, n);
        var g = KernelCases.Data(6, n);
        for (int i = 0; i < n; i++) x[i] *= 8f;
        float[] forward = new float[n], backward = new float[n], expectedForward = new float[n], expectedBackward = new float[n];
        SimdDriver.Map<GeluOperator>(forward, x, width);
        SimdDriver.Map<GeluBackwardOperator>(backward, g, x, width);
        for (int start = 0; start < n; start += piece)
        {
            int count = Math.Min(piece, n - start);
            SimdDriver.Map<GeluOperator>(expectedForward.AsSpan(start, count), x.AsSpan(start, count), width);
            SimdDriver.Map<GeluBackwardOperator>(expectedBackward.AsSpan(start, count), g.AsSpan(start, count), x.AsSpan(start, count), width);
        }
        Assert.True(expectedForward.AsSpan().SequenceEqual(forward), "the split forward map differs");
        Assert.True(expectedBackward.AsSpan().SequenceEqual(backward), "the split binary map differs");

        SimdDriver.Map<GeluOperator>(x, x, width);   // in place, split
        Assert.True(expectedForward.AsSpan().SequenceEqual(x), "the split map in place differs");
    }

    [Theory]
    [InlineData(SimdWidth.Scalar)]
    [InlineData(SimdWidth.Vector128)]
    [InlineData(SimdWidth.Vector256)]
    [InlineData(SimdWidth.Vector512)]
    public void InPlaceEqualsOutOfPlace(SimdWidth width)
    {
        var x = KernelCases.Data(1, 45);
        var y = KernelCases.Data(2, 45);
        var expected = new float[45];
        SimdDriver.Map<MultiplyAddOperator>(expected, x, y, 0.5f, width);
        for (int i = 0; i < 45; i++) Assert.Equal(x[i] * y[i] + 0.5f, expected[i]);
        SimdDriver.Map<MultiplyAddOperator>(x, x, y, 0.5f, width);
        Assert.Equal(expected, x);
    }

    [Theory]
    [InlineData(SimdWidth.Scalar)]
    [InlineData(SimdWidth.Vector128)]
    [InlineData(SimdWidth.Vector256)]
    [InlineData(SimdWidth.Vector512)]
    public void RowsEachGetTheRowOperand(SimdWidth width)
    {
        const int rows = 4, cols = 19;
        var x = KernelCases.Data(3, rows * cols);
        var bias = KernelCases.Data(4, cols);
        var d = new float[rows * cols];
        SimdDriver.MapRows<BiasLeakyReluOperator>(d, x, bias, 0.25f, cols, width);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                float z = x[r * cols + c] + bias[c];
                Assert.Equal(z > 0f ? z : 0.25f * z, d[r * cols + c]);
            }
    }

    [Theory]
    [InlineData(SimdWidth.Vector128)]
    [InlineData(SimdWidth.Vector512)]
    public void OperatorsFollowTheirScalarRules(SimdWidth width)
    {
        float[] x = [2f, -3f, 0f, -0f, 0.5f, 1f, -0.5f, 4f, -1f];
        float[] g = [1f, 2f, 3f, 4f, -5f, 6f, 7f, 0f, 9f];
        var d = new float[x.Length];
        SimdDriver.Map<AbsBackwardOperator>(d, g, x, width);
        Assert.Equal([1f, -2f, 0f, 0f, -5f, 6f, -7f, 0f, -9f], d);
        SimdDriver.Map<ClampBackwardOperator>(d, g, x, -0.5f, 1f, width);
        Assert.Equal([0f, 0f, 3f, 4f, -5f, 6f, 7f, 0f, 0f], d);
        SimdDriver.Map<ReluBackwardOperator>(d, g, x, width);
        Assert.Equal([1f, 0f, 0f, 0f, -5f, 6f, 0f, 0f, 0f], d);
    }
}
