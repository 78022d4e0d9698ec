using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Tests.Nn;

/// <summary>
/// <see cref="Predictor"/>: the compiled path gives the graph's values bit for bit at every batch size (including the
/// block boundaries of large inputs), sees later weight updates, falls back to the graph with a reason for models the
/// plan cannot run, and checks its sizes.
/// </summary>
public sealed class PredictorTests
{
    private static Tensor GraphEval(Module model, Tensor x)
    {
        using (InferenceMode.Enter()) return model.Forward(x);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]     // the GEMM's few-rows path
    [InlineData(5)]
    [InlineData(64)]
    [InlineData(257)]   // up to 260 rows run at once, so no block of 4 rows or fewer is left behind
    [InlineData(261)]   // a block of 256 rows, then 5
    [InlineData(600)]   // 256, 256, then 88
    public void TheReferenceMlpMatchesTheGraphBitForBitAtEveryBatchSize(int rows)
    {
        var model = Mlp.Create(784, [256, 128], 10, "relu", rng: new Rng(1));
        var x = Tensor.RandomUniform([rows, 784], new Rng(rows));
        var predictor = new Predictor(model);
        Assert.True(predictor.IsCompiled, predictor.FallbackReason);
        Assert.Equal((784, 10), (predictor.InFeatures, predictor.OutFeatures));

        var expected = GraphEval(model, x).ToArray();
        var output = new float[rows * 10];
        predictor.Predict(x.AsSpan(), output, rows);
        foreach (var actual in new[] { predictor.Predict(x).ToArray(), model.Predict(x).ToArray(), output })
        {
            // Under the scalar GEMM (BACKPROP_GEMM=scalar, or no SIMD) one row takes the plan's GEMV, which sums in
            // another order than the packed scalar product the graph takes, so they agree to rounding only.
            if (rows == 1 && Backprop.Kernels.Gemm.Variant == Backprop.Kernels.GemmVariant.Scalar)
                for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5f * Math.Max(1f, Math.Abs(expected[i])));
            else Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void APredictorSeesLaterWeightUpdates()
    {
        var model = new Sequential(new Dense(4, 5, rng: new Rng(1)), new Tanh(), new BatchNorm1d(5), new Dense(5, 2, rng: new Rng(2)), new Softmax());
        var predictor = new Predictor(model);
        var x = Tensor.RandomNormal([3, 4], new Rng(3));
        var first = predictor.Predict(x).ToArray();
        Assert.Equal(GraphEval(model, x).ToArray(), first);

        foreach (var p in model.Parameters()) p.AsSpan()[0] += 0.5f;
        model.Forward(Tensor.RandomNormal([8, 4], new Rng(4), mean: 2f));   // training mode: moves the running statistics
        var second = predictor.Predict(x).ToArray();
        Assert.NotEqual(first, second);
        Assert.Equal(GraphEval(model, x).ToArray(), second);
    }

    [Fact]
    public void AModelThePlanCannotRunFallsBackToTheGraphWithAReason()
    {
        var model = new Sequential(new Dense(4, 3, rng: new Rng(1)), new PredictorCnnTests.GraphOnly(), new Tanh(), new Dense(3, 2, rng: new Rng(2)));
        var predictor = new Predictor(model);
        Assert.False(predictor.IsCompiled);
        Assert.Contains("is not in the compiled step", predictor.FallbackReason);
        var x = Tensor.RandomNormal([2, 4], new Rng(2));
        var expected = GraphEval(model, x).ToArray();
        Assert.Equal(expected, predictor.Predict(x).ToArray());
        var output = new float[4];
        predictor.Predict(x.AsSpan(), output, 2);
        Assert.Equal(expected, output);
    }

    [Fact]
    public void WrongSizesAreRefusedWithTheExpectedShape()
    {
        var predictor = new Predictor(new Sequential(new Dense(4, 3), new Relu()));
        var e = Assert.Throws<ShapeMismatchException>(() => predictor.Predict(new float[5], new float[3]));
        Assert.Contains("expected input [1, 4] (4 values) but got 5 values", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => predictor.Predict(new float[8], new float[3], 2));
        Assert.Contains("needs output room for [2, 3] (6 values) but got 3", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => predictor.Predict(new float[4], new float[3], 0));
    }
}

/// <summary>Allocation counted on every thread of the process, so it runs alone.</summary>
[Collection(nameof(RunsAlone))]
public sealed class PredictorAllocationTests
{
    /// <summary>
    /// Warms <paramref name="predictor"/> up with <paramref name="calls"/> calls, then asserts that as many more
    /// allocate nothing, on this thread or on the workers that run the other parts of its parallel regions.
    /// </summary>
    internal static void AssertPredictAllocatesNothing(Predictor predictor, float[] x, float[] y, int calls)
    {
        for (int i = 0; i < calls; i++) predictor.Predict(x, y);
        Action call = () => predictor.Predict(x, y);
        for (int i = 0; i < calls; i++) Assert.Equal(0, AllocationCount.Of(call));
    }

    [Fact]
    public void BatchOnePredictionOfTheReferenceMlpAllocatesNothingOnAnyThread()
    {
        var model = Mlp.Create(784, [256, 128], 10, "relu", rng: new Rng(1));
        var predictor = new Predictor(model);
        var x = Tensor.RandomUniform([1, 784], new Rng(2)).ToArray();
        var y = new float[10];
        AssertPredictAllocatesNothing(predictor, x, y, calls: 200);
        Assert.Equal(GraphOutput(model, x), y);
    }

    private static float[] GraphOutput(Module model, float[] x)
    {
        using (InferenceMode.Enter()) return model.Forward(Tensor.FromArray(x, 1, 784)).ToArray();
    }
}

/// <summary>The workers' allocation count that the allocation tests rely on counts what a part allocates.</summary>
[Collection(nameof(RunsAlone))]
public sealed class WorkerAllocationCountTests
{
    [Fact]
    public void BytesAllocatedByAWorkersPartAreCounted()
    {
        long before = Backprop.Kernels.GemmWorkers.WorkerAllocatedBytes;
        byte[]? kept = null;
        bool parallel = Backprop.Kernels.GemmWorkers.TryRun(2, part => { if (part == 1) kept = new byte[4000]; });
        Assert.True(parallel, "the workers were busy, though this test runs alone");
        Assert.NotNull(kept);
        Assert.InRange(Backprop.Kernels.GemmWorkers.WorkerAllocatedBytes - before, 4000, 4200);
        Assert.InRange(AllocationCount.Of(() => Backprop.Kernels.GemmWorkers.Run(2, part => { if (part == 1) kept = new byte[4000]; })), 4000, 4200);
    }

    [Fact]
    public void BytesAWorkerAllocatesForAnotherThreadsRegionAreNotCountedHere()
    {
        // The count is per starting thread: a region some other thread runs (a background job, a test's stray task)
        // must not land in the measurement of an allocation-free step on this one.
        long before = Backprop.Kernels.GemmWorkers.WorkerAllocatedBytes;
        long otherThreads = 0;
        byte[]? kept = null;
        var other = new Thread(() =>
        {
            bool parallel = Backprop.Kernels.GemmWorkers.TryRun(2, part => { if (part == 1) kept = new byte[4000]; });
            otherThreads = parallel ? Backprop.Kernels.GemmWorkers.WorkerAllocatedBytes : -1;
        });
        other.Start();
        other.Join();
        Assert.NotNull(kept);
        Assert.InRange(otherThreads, 4000, 4200);
        Assert.Equal(before, Backprop.Kernels.GemmWorkers.WorkerAllocatedBytes);
    }
}
