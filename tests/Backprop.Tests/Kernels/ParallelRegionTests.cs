using Backprop.Kernels;
using Backprop.Optim;

namespace Backprop.Tests.Kernels;

/// <summary>
/// The GEMM workers under nesting and concurrency: a parallel GEMM called from inside a parallel region (on the
/// caller's thread and on the workers), or from an optimizer's parallel update, or from many threads at once, gives
/// the single-threaded result, and nothing hangs.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class ParallelRegionTests
{
    // 2·256·256·128 ≈ 16.8 MFLOP: enough that a product on its own is split over 4 threads.
    private const int M = 256, N = 256, K = 128;

    private static (float[] A, float[] B) Operands(int seed) =>
        (Tensor.RandomNormal([M, K], seed).ToArray(), Tensor.RandomNormal([K, N], seed + 1).ToArray());

    private static float[] OneThread(float[] a, float[] b)
    {
        var c = new float[M * N];
        Gemm.Multiply(Gemm.Variant, 1, c, a, b, M, N, K, false, false, false);
        return c;
    }

    [Fact]
    public void AParallelGemmInsideEachPartOfAParallelRegionGivesTheSingleThreadedResult()
    {
        const int parts = 4;
        var operands = Enumerable.Range(0, parts).Select(p => Operands(10 * p)).ToArray();
        var results = new float[parts][];
        var inRegion = new bool[parts];
        bool ran = GemmWorkers.TryRun(parts, part =>
        {
            inRegion[part] = GemmWorkers.InRegion;
            var c = new float[M * N];
            Gemm.Multiply(Gemm.Variant, 4, c, operands[part].A, operands[part].B, M, N, K, false, false, false);
            results[part] = c;
        });
        Assert.True(ran || !GemmWorkers.InRegion);   // false only if another test's region held the workers
        if (!ran) return;
        Assert.All(inRegion, Assert.True);
        Assert.False(GemmWorkers.InRegion);
        for (int p = 0; p < parts; p++) Assert.Equal(OneThread(operands[p].A, operands[p].B), results[p]);
    }

    [Fact]
    public void ManyThreadsRunningParallelGemmsAtOnceEachGetTheSingleThreadedResult()
    {
        const int threads = 6;
        var operands = Enumerable.Range(0, threads).Select(t => Operands(100 + t)).ToArray();
        var results = new float[threads][];
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (int round = 0; round < 10; round++)
            {
                var c = new float[M * N];
                Gemm.Multiply(Gemm.Variant, 4, c, operands[t].A, operands[t].B, M, N, K, false, false, false);
                results[t] = c;
            }
        })).ToArray();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        for (int t = 0; t < threads; t++) Assert.Equal(OneThread(operands[t].A, operands[t].B), results[t]);
    }

    /// <summary>An element-wise optimizer whose update multiplies matrices: public API that nests a GEMM in the update's region.</summary>
    private sealed class GemmInUpdate(Tensor w, float[] a, float[] b) : Optimizer([w], 0.1f)
    {
        public readonly float[][] Products = new float[64][];

        public override string Name => "gemm-in-update";

        protected override bool UpdatesElementwise => true;

        protected override void Update(int index, int offset, Span<float> parameter, ReadOnlySpan<float> gradient)
        {
            var c = new float[M * N];
            Gemm.Multiply(c, a, b, M, N, K);
            Products[offset / 1024] = c;
            for (int i = 0; i < parameter.Length; i++) parameter[i] -= LearningRate * gradient[i];
        }
    }

    [Fact]
    public void AnOptimizerWhoseParallelUpdateMultipliesMatricesGetsTheRightProducts()
    {
        var (a, b) = Operands(7);
        var w = Tensor.Zeros(1 << 16).RequireGrad();
        w.Grad = Tensor.Ones(1 << 16);
        var optimizer = new GemmInUpdate(w, a, b) { Threads = 4 };
        optimizer.Step();
        var expected = OneThread(a, b);
        var products = optimizer.Products.Where(p => p is not null).ToList();
        Assert.NotEmpty(products);
        Assert.All(products, p => Assert.Equal(expected, p));
        Assert.All(w.ToArray(), v => Assert.Equal(-0.1f, v));
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(70_001)]
    [InlineData(200_003)]
    public void AdamGivesTheSameBitsOnOneThreadAndOnSeveral(int size)
    {
        float[] Run(int threads)
        {
            var rng = new Rng(6);
            var w = Tensor.RandomNormal([size], rng).RequireGrad();
            var adam = new Adam([w], lr: 0.01f, weightDecay: 0.1f) { Threads = threads };
            for (int step = 0; step < 3; step++)
            {
                w.Grad = Tensor.RandomNormal([size], rng);
                adam.Step();
            }
            return w.ToArray();
        }
        var one = Run(1);
        foreach (int threads in new[] { 2, 3, 8 }) Assert.Equal(one, Run(threads));
    }

    // Counts the runs of each part and notes whether it ran inside a region.
    private readonly struct CountingJob(int[] runs, bool[] inRegion) : IPartJob
    {
        public void Run(int part)
        {
            Interlocked.Increment(ref runs[part]);
            inRegion[part] = GemmWorkers.InRegion;
        }
    }

    [Fact]
    public void AStructJobRunsEachPartOnceWhetherSplitOrNested()
    {
        const int parts = 5;
        var runs = new int[parts];
        var inRegion = new bool[parts];
        GemmWorkers.Run(parts, new CountingJob(runs, inRegion));
        Assert.All(runs, n => Assert.Equal(1, n));

        // From inside a region the job runs inline, on its own copy, still once per part.
        var nested = new int[parts];
        var nestedInRegion = new bool[parts];
        GemmWorkers.Run(2, part => { if (part == 0) GemmWorkers.Run(parts, new CountingJob(nested, nestedInRegion)); });
        Assert.All(nested, n => Assert.Equal(1, n));
        Assert.All(nestedInRegion, Assert.True);
    }
}
