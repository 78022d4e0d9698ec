using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>
/// Every GEMM variant against a double-precision reference: odd sizes (edge tiles in both m and n, k across several
/// kc blocks), all four transpose combinations, overwrite and accumulate; then determinism across threads and
/// variants, and the public entry point's small-problem paths.
/// </summary>
public sealed class GemmTests
{
    private static readonly (int M, int N, int K)[] Sizes =
    [
        (1, 1, 1), (7, 7, 7), (33, 33, 33), (257, 257, 257), (13, 70, 129), (1, 300, 5), (64, 10, 128),
        (100, 1, 37), (5, 33, 600), (40, 97, 513),
        // Heights whose rows the short tiles take: 32 = 6·4 + 4·2, 22 = 14 + 4·2, 128 = 6·20 + 4·2 (and 14·9 + 2 of 4).
        (32, 50, 40), (22, 17, 9), (128, 20, 70),
    ];

    public static TheoryData<GemmVariant, bool, bool, bool> Cases()
    {
        var data = new TheoryData<GemmVariant, bool, bool, bool>();
        foreach (var v in GemmReference.Variants)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    foreach (bool acc in new[] { false, true })
                        data.Add(v, ta, tb, acc);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void VariantMatchesDoubleReference(GemmVariant variant, bool transA, bool transB, bool accumulate)
    {
        foreach (var (m, n, k) in Sizes)
        {
            var a = GemmReference.Random(m * k, 1);
            var b = GemmReference.Random(k * n, 2);
            var c0 = GemmReference.Random(m * n, 3);
            var expected = GemmReference.Multiply(c0, a, b, m, n, k, transA, transB, accumulate);
            var c = (float[])c0.Clone();
            Gemm.Multiply(variant, 1, c, a, b, m, n, k, transA, transB, accumulate, packedOnly: true);
            GemmReference.AssertClose(expected, c, k, $"{variant} m={m} n={n} k={k} transA={transA} transB={transB} accumulate={accumulate}");
        }
    }

    [Theory]
    [InlineData(false, false, false)]
    [InlineData(false, false, true)]
    [InlineData(false, true, false)]
    [InlineData(false, true, true)]
    [InlineData(true, false, false)]
    [InlineData(true, false, true)]
    [InlineData(true, true, false)]
    [InlineData(true, true, true)]
    public void PublicEntryMatchesDoubleReference(bool transA, bool transB, bool accumulate)
    {
        // The public path adds the tiny (3×2·… ) and skinny (m ≤ 4, e.g. a batch of one) shortcuts.
        foreach (var (m, n, k) in Sizes.Append((3, 2, 4)).Append((4, 256, 784)).Append((2, 784, 256)))
        {
            var a = GemmReference.Random(m * k, 4);
            var b = GemmReference.Random(k * n, 5);
            var c0 = GemmReference.Random(m * n, 6);
            var expected = GemmReference.Multiply(c0, a, b, m, n, k, transA, transB, accumulate);
            var c = (float[])c0.Clone();
            Gemm.Multiply(c, a, b, m, n, k, transA, transB, accumulate);
            GemmReference.AssertClose(expected, c, k, $"Gemm.Multiply m={m} n={n} k={k} transA={transA} transB={transB} accumulate={accumulate}");
        }
    }

    [Theory]
    [InlineData(300, 500, 300, false, false)]   // split along n
    [InlineData(2000, 40, 128, false, false)]   // split along m
    [InlineData(300, 500, 300, true, true)]
    [InlineData(517, 263, 700, false, true)]
    [InlineData(263, 517, 700, true, false)]
    public void ResultIsBitwiseIndependentOfThreadCount(int m, int n, int k, bool transA, bool transB)
    {
        var a = GemmReference.Random(m * k, 7);
        var b = GemmReference.Random(k * n, 8);
        foreach (var v in GemmReference.Variants)
        {
            var one = new float[m * n];
            Gemm.Multiply(v, 1, one, a, b, m, n, k, transA, transB, false);
            foreach (int threads in new[] { 2, 3, 8 })
            {
                var many = new float[m * n];
                Gemm.Multiply(v, threads, many, a, b, m, n, k, transA, transB, false);
                Assert.True(one.AsSpan().SequenceEqual(many), $"{v}: {threads} threads differ from 1 thread");
            }
        }
    }

    [Theory]
    [InlineData(3, 50, 40, false)]      // few rows: the skinny path
    [InlineData(60, 900, 200, true)]    // split along n (each part presets its columns)
    [InlineData(2000, 40, 128, true)]   // split along m (each part presets its rows)
    [InlineData(70, 33, 600, false)]    // two k-blocks onto the bias
    [InlineData(5, 7, 0, false)]        // no depth: C is the bias
    public void RowBiasPresetEqualsCopyingTheBiasFirst(int m, int n, int k, bool transB)
    {
        var a = GemmReference.Random(m * k, 11);
        var b = GemmReference.Random(k * n, 12);
        var bias = GemmReference.Random(n, 13);
        foreach (var v in GemmReference.Variants.Append(GemmVariant.Scalar).Distinct())
        {
            var expected = new float[m * n];
            for (int i = 0; i < m; i++) bias.CopyTo(expected.AsSpan(i * n, n));
            Gemm.Multiply(v, 1, expected, a, b, m, n, k, false, transB, true);
            foreach (int threads in new[] { 1, 2, 3 })
            {
                var c = GemmReference.Random(m * n, 14);   // whatever C held is overwritten
                Gemm.MultiplyOntoRowBias(v, threads, c, a, b, bias, m, n, k, transB: transB);
                Assert.True(expected.AsSpan().SequenceEqual(c), $"{v}, {threads} thread(s): differs from copying the bias and accumulating");
            }
        }
    }

    [Fact]
    public void RowBiasShorterThanNIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => Gemm.MultiplyOntoRowBias(new float[6], new float[6], new float[9], new float[2], 2, 3, 3));
        Assert.Contains("bias of at least n = 3 values, but got 2", e.Message);
    }

    [Fact]
    public void AllVariantsAgreeBitwise()
    {
        // Same kc blocking and one fused multiply-add chain per element in increasing p, in tall tiles and short ones
        // alike: identical rounding. Heights with every kind of cover: 45 (a padded tall tile or a short one), 32 and 22
        // (two short tiles), 8 (short tiles only).
        const int n = 77, k = 600;
        foreach (int m in new[] { 45, 32, 22, 8 })
        {
            var a = GemmReference.Random(m * k, 9);
            var b = GemmReference.Random(k * n, 10);
            var scalar = new float[m * n];
            Gemm.Multiply(GemmVariant.Scalar, 1, scalar, a, b, m, n, k, false, false, false);
            foreach (var v in GemmReference.Variants)
            {
                var c = new float[m * n];
                Gemm.Multiply(v, 1, c, a, b, m, n, k, false, false, false);
                Assert.True(scalar.AsSpan().SequenceEqual(c), $"{v} differs from the scalar reference at m = {m}");
            }
        }
    }

    [Theory]
    [InlineData(32, 24)]    // 6·4 tall + 4·2 short (32 rows of tiles) rather than 6·5 + 2 of 6 (36)
    [InlineData(64, 60)]    // 6·10 + 4
    [InlineData(36, 36)]    // whole tall tiles
    [InlineData(37, 30)]    // 6·5 + 4·2 with one row to spare (38) rather than 6·6 + 1 of 6 (42)
    [InlineData(35, 35)]    // 6·5 + 5 of 6 (36): as cheap as 6·4 + 4·3 (36), and fewer tiles
    [InlineData(3, 0)]      // one short tile of 4 rather than one tall of 6
    public void TheSixRowKernelsCoverAHeightWithTheFewestTileRows(int m, int tall)
    {
        Assert.Equal(tall, GemmDriver<MicroKernel256>.TallRows(m));
        Assert.Equal(tall, GemmDriver<MicroKernel128>.TallRows(m));
        Assert.Equal(m, GemmDriver<MicroKernelScalar>.TallRows(m));   // a 4-row tile has no shorter one
        Assert.Equal(28, GemmDriver<MicroKernel512>.TallRows(32));    // 14·2 + 4
    }

    [Fact]
    public void SeedExampleGivesExactProduct()
    {
        // [2,3]·[3,2] with small integers: every path is exact.
        float[] a = [1, 2, 3, 4, 5, 6];
        float[] b = [7, 8, 9, 10, 11, 12];
        var c = new float[4];
        Gemm.Multiply(c, a, b, 2, 2, 3);
        Assert.Equal([58f, 64f, 139f, 154f], c);
        Gemm.Multiply(c, a, b, 2, 2, 3, accumulate: true);
        Assert.Equal([116f, 128f, 278f, 308f], c);
    }

    [Fact]
    public void ZeroDepthClearsOrKeepsC()
    {
        float[] c = [1, 2, 3, 4, 5, 6];
        Gemm.Multiply(c, [], [], 2, 3, 0, accumulate: true);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], c);
        Gemm.Multiply(c, [], [], 2, 3, 0);
        Assert.Equal(new float[6], c);
    }

    [Fact]
    public void ShortSpanIsRejectedWithSizes()
    {
        var e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[6], new float[5], new float[6], 2, 3, 3));
        Assert.Contains("m=2, n=3, k=3", e.Message);
        Assert.Contains("A 5", e.Message);
    }

    [Theory]
    [InlineData(SimdWidth.Scalar, GemmVariant.Scalar)]
    [InlineData(SimdWidth.Vector128, GemmVariant.Vector128)]
    [InlineData(SimdWidth.Vector256, GemmVariant.Vector256)]
    [InlineData(SimdWidth.Vector512, GemmVariant.Vector512)]
    public void VariantFollowsTheProcessWidth(SimdWidth width, GemmVariant variant)
    {
        Assert.Equal(variant, GemmSelector.FromWidth(width));
        Assert.Equal(GemmSelector.FromWidth(Simd.Width), Gemm.Variant);
        Assert.Equal(GemmSelector.Best, GemmSelector.FromWidth(Simd.HardwareWidth));
    }

    [Fact]
    public void MaxThreadsIsTheEnvironmentsOrTheProcessorCount() =>
        Assert.Equal(GemmSelector.ThreadsFromEnvironment(), Gemm.MaxThreads);
}
