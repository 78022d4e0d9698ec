using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>
/// The dense kernels at every width against plain loops written from their definitions, summing in the order the
/// kernels document (so the comparison is exact): GEMV, column sums, and the activation backwards.
/// </summary>
public sealed class DenseKernelTests
{
    public static TheoryData<SimdWidth> Widths() => [.. Simd.AllWidths];

    [Theory]
    [MemberData(nameof(Widths))]
    public void GemvSumsEachColumnFromZeroInInputOrder(SimdWidth width)
    {
        foreach (var (k, n) in new[] { (1, 1), (5, 3), (37, 150), (64, 129), (9, 263), (0, 7), (6, 0) })
        {
            var x = KernelCases.Data(k, k);
            var w = KernelCases.Data(n, k * n);
            var y = KernelCases.Data(1, n);   // overwritten
            DenseKernels.Gemv(y, x, w, k, n, width);
            AssertIsTheDefinition(y, x, w, k, n);
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void GemvSkipsZeroInputsAndKeepsEveryOtherValue(SimdWidth width)
    {
        // Half the inputs 0 or −0 (skipped, as an image's background and a ReLU's output are), the rest including a
        // NaN and an infinity (kept: skipping them would hide them); 5000 inputs take the rented row list.
        foreach (var (k, n) in new[] { (784, 96), (5000, 40), (33, 17) })
        {
            var x = KernelCases.Data(k + 3, k);
            for (int p = 0; p < k; p += 2) x[p] = p % 4 == 0 ? 0f : -0f;
            x[1] = float.NaN;
            x[k - 2 + k % 2] = float.PositiveInfinity;
            var w = KernelCases.Data(n + 5, k * n);
            var y = new float[n];
            DenseKernels.Gemv(y, x, w, k, n, width);
            AssertIsTheDefinition(y, x, w, k, n);
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void GemvSplitOverCoresGivesTheDefinitionAtEveryThreadCount(SimdWidth width)
    {
        // Large enough to split (the first layer of an MNIST MLP, one with a ragged last block, one a single block
        // wide), with half the inputs zero.
        foreach (var (k, n) in new[] { (784, 256), (700, 211), (3000, 64) })
        {
            var x = KernelCases.Data(k + 1, k);
            for (int p = 0; p < k; p += 2) x[p] = 0f;
            var w = KernelCases.Data(n + 2, k * n);
            foreach (int threads in new[] { 1, 2, 3, 5 })
            {
                var y = KernelCases.Data(3, n);   // overwritten
                DenseKernels.Gemv(y, x, w, k, n, width, threads);
                AssertIsTheDefinition(y, x, w, k, n);
            }
        }
    }

    // y[j] = Σ_p x[p]·W[p, j] from 0, p ascending, zero inputs skipped: bit for bit.
    private static void AssertIsTheDefinition(float[] y, float[] x, float[] w, int k, int n)
    {
        for (int j = 0; j < n; j++)
        {
            float s = 0f;
            for (int p = 0; p < k; p++)
                if (x[p] != 0f) s += w[p * n + j] * x[p];
            Assert.Equal(BitConverter.SingleToInt32Bits(s), BitConverter.SingleToInt32Bits(y[j]));
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void BiasGradientSumsColumnsDownTheRows(SimdWidth width)
    {
        foreach (var (rows, cols) in new[] { (1, 1), (3, 7), (50, 32), (9, 70), (4, 200), (0, 5) })
        {
            var dz = KernelCases.Data(rows + 1, rows * cols);
            var start = KernelCases.Data(cols, cols);
            foreach (bool accumulate in new[] { false, true })
            {
                var db = (float[])start.Clone();
                DenseKernels.BiasGradient(db, dz, rows, cols, accumulate, width);
                for (int j = 0; j < cols; j++)
                {
                    float s = 0f;
                    for (int r = 0; r < rows; r++) s += dz[r * cols + j];
                    float expected = rows == 0 ? (accumulate ? start[j] : 0f) : accumulate ? start[j] + s : s;
                    Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(db[j]));
                }
            }
        }
    }

    [Fact]
    public void BiasGradientRejectsShortSpans()
    {
        var e = Assert.Throws<ArgumentException>(() => DenseKernels.BiasGradient(new float[3], new float[8], 2, 4));
        Assert.Contains("rows=2, cols=4", e.Message);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void ActivationBackwardsFollowTheirDerivatives(SimdWidth width)
    {
        const int n = 37;
        var dy = KernelCases.Data(1, n);
        var y = KernelCases.Data(2, n);
        var dz = new float[n];
        DenseKernels.ActivationBackward(dz, dy, y, n, ActivationKind.Relu, 0f, width);
        for (int i = 0; i < n; i++) Assert.Equal(y[i] > 0f ? dy[i] : 0f, dz[i]);
        DenseKernels.ActivationBackward(dz, dy, y, n, ActivationKind.LeakyRelu, 0.1f, width);
        for (int i = 0; i < n; i++) Assert.Equal(y[i] > 0f ? dy[i] : 0.1f * dy[i], dz[i]);
        DenseKernels.ActivationBackward(dz, dy, y, n, ActivationKind.Sigmoid, 0f, width);
        for (int i = 0; i < n; i++) Assert.Equal(dy[i] * (y[i] * (1f - y[i])), dz[i]);
        DenseKernels.ActivationBackward(dz, dy, y, n, ActivationKind.Tanh, 0f, width);
        for (int i = 0; i < n; i++) Assert.Equal(dy[i] * (1f - y[i] * y[i]), dz[i]);
        DenseKernels.ActivationBackward(dz, dy, y, n, ActivationKind.Identity, 0f, width);
        Assert.Equal(dy, dz);
    }
}
