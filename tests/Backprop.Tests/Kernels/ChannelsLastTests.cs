using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>The channels-last layout and pooling kernels at every width against plain loops from their definitions.</summary>
public sealed class ChannelsLastTests
{
    public static TheoryData<SimdWidth> Widths() => [.. Simd.AllWidths];

    [Theory]
    [InlineData(1, 784)]
    [InlineData(784, 1)]
    [InlineData(3, 5)]
    [InlineData(17, 33)]
    [InlineData(32, 196)]
    [InlineData(64, 49)]
    public void TransposeEachSwapsRowsAndColumnsOfEveryExample(int rows, int cols)
    {
        const int n = 2;
        var x = KernelCases.Data(rows + cols, n * rows * cols);
        var y = new float[x.Length];
        ChannelsLast.TransposeEach(y, x, n, rows, cols);
        for (int i = 0; i < n; i++)
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    Assert.Equal(x[(i * rows + r) * cols + c], y[(i * cols + c) * rows + r]);
        var back = new float[x.Length];
        ChannelsLast.TransposeEach(back, y, n, cols, rows);
        Assert.Equal(x, back);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void MaxPoolKeepsTheFirstMaximumOfEachWindow(SimdWidth width)
    {
        foreach (var (c, k, s) in new[] { (1, 2, 2), (21, 2, 2), (32, 3, 2), (5, 3, 1) })
        {
            const int n = 2, h = 7, w = 6;
            int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
            var x = KernelCases.Data(c * 10 + k, n * h * w * c);
            var y = new float[n * oh * ow * c];
            var arg = new int[y.Length];
            ChannelsLast.MaxPool(y, arg, x, n, h, w, c, k, s, width);
            for (int i = 0; i < n; i++)
                for (int r = 0; r < oh; r++)
                    for (int q = 0; q < ow; q++)
                        for (int ch = 0; ch < c; ch++)
                        {
                            float best = float.NegativeInfinity;
                            int at = -1;
                            for (int kh = 0; kh < k; kh++)
                                for (int kw = 0; kw < k; kw++)
                                {
                                    float v = x[((i * h + r * s + kh) * w + q * s + kw) * c + ch];
                                    if (at < 0 || v > best) (best, at) = (v, kh * k + kw);
                                }
                            int o = ((i * oh + r) * ow + q) * c + ch;
                            Assert.Equal(best, y[o]);
                            Assert.Equal(at, arg[o]);
                        }
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void MaxPoolBackwardRoutesEachGradientToItsWinner(SimdWidth width)
    {
        foreach (var (c, k, s) in new[] { (1, 2, 2), (21, 2, 2), (32, 3, 2), (5, 3, 3) })
        {
            const int n = 2, h = 7, w = 6;
            int oh = (h - k) / s + 1, ow = (w - k) / s + 1, outSize = n * oh * ow * c;
            var rng = new Random(c + k);
            var arg = new int[outSize];
            for (int i = 0; i < outSize; i++) arg[i] = rng.Next(k * k);
            var dy = new float[outSize];
            for (int i = 0; i < outSize; i++) dy[i] = 1 + i;   // distinct, non-zero: each sum says which windows reached it
            var expected = new float[n * h * w * c];
            for (int i = 0; i < n; i++)
                for (int r = 0; r < oh; r++)
                    for (int q = 0; q < ow; q++)
                        for (int ch = 0; ch < c; ch++)
                        {
                            int o = ((i * oh + r) * ow + q) * c + ch, a = arg[o];
                            expected[((i * h + r * s + a / k) * w + q * s + a % k) * c + ch] += dy[o];
                        }
            var dx = KernelCases.Data(3, expected.Length);   // stale values must all be overwritten
            ChannelsLast.MaxPoolBackward(dx, dy, arg, n, h, w, c, k, s, width);
            Assert.Equal(expected, dx);
        }
    }
}
