using Backprop.Distributed;
using Backprop.Kernels;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Distributed;

/// <summary>
/// Dense weight gradients formed from the ranks' shared factors (<see cref="DataParallelOptions.ShareFactors"/>): each
/// rank gathers every rank's layer inputs X and output gradients dZ and forms its own part of dW = Σ Xᵀ·dZ / N. The
/// step must be the one a reduced gradient gives, and the one one process takes.
/// </summary>
public sealed class SharedFactorsTests
{
    // 128 → 128 is 16,384 weights (64 KiB, reduced in place); 24 rows of 128 + 128 factors on 2 or 3 ranks are 6,144
    // values: shared. 128 → 4 (512 weights against 24 rows of 144) is not.
    private const string Wide = "dense(128)-relu-dense(4)";

    [Theory]
    [InlineData(2, "adam", 0f)]
    [InlineData(3, "adam", 0f)]
    [InlineData(2, "adamw", 0.05f)]
    [InlineData(3, "adamw", 0.05f)]
    [InlineData(2, "sgd", 0.05f)]
    public void FormedFromSharedFactorsTheStepIsTheReducedOneAndOneProcesss(int ranks, string optimizer, float clipNorm)
    {
        var data = DistributedData.Classification(240, [128]);
        var options = new FitOptions { Epochs = 2, BatchSize = 24, Seed = 3, Engine = TrainingEngine.Compiled, ClipGradNorm = clipNorm > 0 ? clipNorm : null };
        var alone = DistributedData.Build(Wide, data);
        alone.Fit(data, Losses.CrossEntropy, OptimizerFor(optimizer, alone), options);
        var expected = alone.StateDict().Select(s => s.Tensor.ToArray()).ToArray();

        var (shared, sharedRuns) = Train(ranks, Wide, data, optimizer, options, share: true);
        var (reduced, reducedRuns) = Train(ranks, Wide, data, optimizer, options, share: false);

        // The test could fail: factors were shared for the wide layer only, and not when turned off.
        Assert.All(sharedRuns, r => Assert.Equal((1, 128 * 128 * 4L, 24 / ranks * 256 * 4L), (r.SharedFactorLayers, r.FormedBytesPerStep, r.FactorBytesPerStep)));
        Assert.All(reducedRuns, r => Assert.Equal(0, r.SharedFactorLayers));
        Assert.All(sharedRuns, r => Assert.Equal(reducedRuns[0].BytesPerStep, r.BytesPerStep));
        var start = DistributedData.Build(Wide, data).StateDict().Select(s => s.Tensor.ToArray()).ToArray();
        Assert.True(DistributedData.MaxRelativeDifference(expected, start) > 1e-2, "training did not move the weights: the test could not fail");
        DistributedData.AssertClose(shared[0], reduced[0], "shared factors against reduced gradients");
        DistributedData.AssertClose(shared[0], expected, "shared factors against one process");
        for (int r = 1; r < ranks; r++)
            for (int t = 0; t < expected.Length; t++) Assert.Equal(shared[0][t], shared[r][t]);
    }

    [Theory]
    [InlineData("mlp", TrainingEngine.Compiled, true)]    // the layers are too small: gathering would move more bytes
    [InlineData("wide", TrainingEngine.Graph, true)]      // the graph forms dW in its own backward
    [InlineData("wide", TrainingEngine.Compiled, false)]  // a whole step on every rank (ShardOptimizer off)
    public void FactorsAreSharedOnlyWhereTheyPay(string kind, TrainingEngine engine, bool shard)
    {
        var (spec, features) = kind == "mlp" ? (DistributedData.Mlp, 12) : (Wide, 128);
        var data = DistributedData.Classification(96, [features]);
        var options = new FitOptions { Epochs = 1, BatchSize = 24, Seed = 3, Engine = engine };
        var (_, runs) = Train(2, spec, data, "adam", options, share: true, shard);
        Assert.All(runs, r => Assert.Equal((0, 0L), (r.SharedFactorLayers, r.FormedBytesPerStep)));
    }

    [Fact]
    public void RanksThatDisagreeOnSharingFactorsStopAtStart()
    {
        var data = DistributedData.Classification(96, [128]);
        var errors = new Exception?[2];
        ThreadCommunicator.Run(2, comm =>
        {
            var model = DistributedData.Build(Wide, data);
            var dp = new DataParallel(comm, new DataParallelOptions { ShareFactors = comm.Rank == 0 });
            errors[comm.Rank] = Record.Exception(() => model.Fit(data, Losses.CrossEntropy, new Adam(model.Parameters()), new FitOptions { Epochs = 1, BatchSize = 24, Parallel = dp }));
        });
        Assert.All(errors, e =>
        {
            Assert.IsType<InvalidOperationException>(e);
            Assert.Contains("rank 1 was given a different run than rank 0", e!.Message, StringComparison.Ordinal);
            Assert.Contains("shared factors on", e.Message, StringComparison.Ordinal);
        });
    }

    [Theory]
    [InlineData(0, 12 * 5)]     // all of dW
    [InlineData(3, 17)]         // within one row
    [InlineData(5, 6)]          // one value
    [InlineData(7, 41)]         // a part row, whole rows, a part row
    [InlineData(10, 50)]        // whole rows only
    [InlineData(14, 15)]        // the end of one row and the start of the next
    [InlineData(8, 10)]         // the end of a row
    [InlineData(9, 9)]          // nothing
    public void AWeightGradientSliceIsThatSliceOfXTransposedTimesDz(int start, int end)
    {
        const int rows = 9, inFeatures = 12, outFeatures = 5, stride = 20;
        var rng = new Rng(4);
        var factors = new float[rows * stride];
        for (int i = 0; i < factors.Length; i++) factors[i] = i % stride < inFeatures + outFeatures ? rng.NextNormal() : float.NaN;
        var dw = Enumerable.Repeat(-7f, inFeatures * outFeatures).ToArray();

        DenseKernels.WeightGradientSlice(dw, factors, stride, rows, inFeatures, outFeatures, start, end);

        for (int v = 0; v < dw.Length; v++)
        {
            if (v < start || v >= end)
            {
                Assert.Equal(-7f, dw[v]);
                continue;
            }
            int i = v / outFeatures, j = v % outFeatures;
            double sum = 0;
            for (int p = 0; p < rows; p++) sum += (double)factors[p * stride + i] * factors[p * stride + inFeatures + j];
            Assert.True(Math.Abs(dw[v] - sum) <= 1e-5 * Math.Max(1, Math.Abs(sum)), $"dW[{i}, {j}] = {dw[v]}, expected {sum}");
        }
    }

    [Fact]
    public void AWeightGradientSliceOutsideDwIsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => DenseKernels.WeightGradientSlice(new float[10], new float[40], 8, 5, 2, 5, 4, 11));
        Assert.Contains("0 ≤ start ≤ end ≤ 10", error.Message, StringComparison.Ordinal);
        Assert.Contains("[4, 11)", error.Message, StringComparison.Ordinal);
    }

    private static Optimizer OptimizerFor(string name, Module model) => name switch
    {
        "adamw" => new AdamW(model.Parameters(), lr: 0.01f),
        "sgd" => new Sgd(model.Parameters(), lr: 0.05f, momentum: 0.9f, weightDecay: 1e-3f),
        _ => new Adam(model.Parameters(), lr: 0.01f),
    };

    private sealed record Run(int SharedFactorLayers, long FormedBytesPerStep, long FactorBytesPerStep, long BytesPerStep);

    private static (float[][][] Parameters, Run[] Runs) Train(int ranks, string spec, Backprop.Data.Dataset data, string optimizer, FitOptions options,
        bool share, bool shard = true)
    {
        var parameters = new float[ranks][][];
        var runs = new Run[ranks];
        ThreadCommunicator.Run(ranks, comm =>
        {
            var model = DistributedData.Build(spec, data);
            var dp = new DataParallel(comm, new DataParallelOptions { ShareFactors = share, ShardOptimizer = shard });
            model.Fit(data, Losses.CrossEntropy, OptimizerFor(optimizer, model), options with { Parallel = dp });
            parameters[comm.Rank] = [.. model.StateDict().Select(s => s.Tensor.ToArray())];
            runs[comm.Rank] = new Run(dp.SharedFactorLayers, dp.FormedBytesPerStep, dp.FactorBytesPerStep, dp.BytesPerStep);
        });
        return (parameters, runs);
    }
}
