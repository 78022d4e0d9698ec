using System.Text.Json.Nodes;
using Xunit.Abstractions;
using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// The step-scoped buffer pool of the autograd graph: a graph step of a custom model trains bit-identically with the
/// pool and without it, returns its buffers when it ends (poisoned, so a tensor kept past its step reads NaN), and
/// lets nothing the user keeps (parameters, their gradients, retained gradients, tensors made outside a step) live
/// in rented storage.
/// </summary>
public sealed class TensorArenaTests
{
    /// <summary>x + fc2(relu(fc1(x))): a custom module built from ops, which the compiled step cannot express.</summary>
    internal sealed class ResidualBlock(int width, int hidden, int seed) : Module
    {
        private readonly Dense fc1 = new(width, hidden, rng: new Rng(seed));
        private readonly Dense fc2 = new(hidden, width, rng: new Rng(seed + 1));

        public override Tensor Forward(Tensor input) => input + fc2.Forward(fc1.Forward(input).Relu());

        public override IEnumerable<(string Name, Module Module)> Children() => [("fc1", fc1), ("fc2", fc2)];

        public override JsonObject ToSpec() => new() { ["type"] = "residual" };

        public override string ToString() => "Residual";
    }

    internal static Module ResidualModel(int features, int width, int classes) =>
        new Sequential(new Dense(features, width, rng: new Rng(1)), new Tanh(), new ResidualBlock(width, 2 * width, 3),
            new Dense(width, classes, rng: new Rng(2)));

    // Every other op family the graph step pools: BatchNorm's per-channel scratch, dropout's mask, sigmoid, and
    // (with MSE on class labels) the one-hot targets, broadcasting gradients and full reductions.
    internal static Module MixedModel(int features, int width, int classes) =>
        new Sequential(new Dense(features, width, rng: new Rng(1)), new BatchNorm1d(width), new Relu(), new Dropout(0.25f, new Rng(7)),
            new ResidualBlock(width, width, 3), new Sigmoid(), new Dense(width, classes, rng: new Rng(2)));

    internal static Dataset Classification(int rows, int features, int classes, int seed)
    {
        var rng = new Rng(seed);
        var x = Tensor.RandomNormal([rows, features], rng);
        var y = Tensor.FromArray([.. Enumerable.Range(0, rows).Select(i => (float)(i % classes))]);
        return new Dataset(x, y, name: "random");
    }

    [Theory]
    [InlineData("residual", "cross_entropy")]
    [InlineData("mixed", "mse")]
    [InlineData("conv", "cross_entropy")]
    public void AGraphRunTrainsBitIdenticallyWithThePoolAndWithout(string kind, string lossName)
    {
        // 100 rows in batches of 16: a short last batch of 4 rows exercises a second set of sizes every epoch.
        var data = Classification(100, 36, 4, seed: 5).WithSampleShape(1, 6, 6);
        var loss = Losses.ByName(lossName);
        (Module Model, History History) Train(bool pooled)
        {
            var model = kind switch
            {
                "residual" => ResidualModel(36, 16, 4),
                "mixed" => MixedModel(36, 16, 4),
                _ => ModelLanguage.Build("conv(4,3,pad=1)-batchnorm-relu-maxpool(2)-dropout(0.2)-conv(4,3,stride=2)-avgpool(1)-flatten-dense(4)",
                    [1, 6, 6], new Rng(3)),
            };
            var options = new FitOptions { Epochs = 4, BatchSize = 16, Seed = 9, Validation = data.Take(40), Engine = TrainingEngine.Graph };
            var adam = new Adam(model.Parameters(), 1e-2f);
            if (pooled) return (model, model.Fit(data, loss, adam, options));
            using (TensorArena.Disable()) return (model, model.Fit(data, loss, adam, options));
        }

        var (plain, plainHistory) = Train(pooled: false);
        var (pooled, pooledHistory) = Train(pooled: true);
        Assert.Equal(TrainingEngine.Graph, pooledHistory.Engine);
        for (int e = 0; e < 4; e++)
        {
            Assert.Equal(plainHistory.Epochs[e].Loss, pooledHistory.Epochs[e].Loss);
            Assert.Equal(plainHistory.Epochs[e].ValidationLoss, pooledHistory.Epochs[e].ValidationLoss);
        }
        var a = plain.Parameters();
        var b = pooled.Parameters();
        for (int p = 0; p < a.Count; p++)
        {
            Assert.Equal(a[p].ToArray(), b[p].ToArray());
            // The last step's gradients outlive the step in ordinary memory: finite and the same numbers.
            Assert.NotNull(b[p].Grad);
            Assert.Equal(-1, b[p].Grad!.lease);
            Assert.Equal(a[p].Grad!.ToArray(), b[p].Grad!.ToArray());
            Assert.All(b[p].Grad!.ToArray(), v => Assert.True(float.IsFinite(v)));
        }
    }

    [Fact]
    public void ATensorReadAfterItsStepEndsIsPoisoned()
    {
        bool was = TensorArena.PoisonOnRelease;
        TensorArena.PoisonOnRelease = true;
        try
        {
            var w = Tensor.FromArray([1f, 2f, 3f]).RequireGrad();
            Tensor kept, made;
            float[] keptStorage;
            using (TensorArena.Step())
            {
                kept = w * 2f;
                keptStorage = kept.data;
                made = Tensor.Ones(3);   // a public creation helper: ordinary memory, even inside a step
                Assert.Equal([2f, 4f, 6f], kept.ToArray());
                kept.Sum().Backward();
            }
            // The op's result went back to the pool: the tensor object is emptied for reuse, and its storage is
            // poisoned, so a stale read cannot pass for data.
            Assert.Equal(0, kept.Size);
            Assert.Empty(kept.Shape);
            Assert.Null(kept.Node);
            Assert.All(keptStorage, v => Assert.True(float.IsNaN(v)));
            Assert.Equal([1f, 1f, 1f], made.ToArray());
            Assert.Equal([2f, 2f, 2f], w.Grad!.ToArray());   // a leaf's gradient outlives the step
            Assert.Equal([1f, 2f, 3f], w.ToArray());

            // Without a step, op results are ordinary memory, as before the pool.
            var outside = w * 2f;
            Assert.Equal(-1, outside.lease);
            Assert.Equal([2f, 4f, 6f], outside.ToArray());
        }
        finally
        {
            TensorArena.PoisonOnRelease = was;
        }
    }

    [Fact]
    public void ARetainedGradientOutlivesItsStepAndDroppedOnesAreReused()
    {
        var x = Tensor.FromArray([1f, -2f, 3f, 4f], 2, 2).RequireGrad();
        Tensor hidden, retained;
        using (TensorArena.Step())
        {
            hidden = x.MatMul(x);
            retained = hidden.Relu().RetainGrad();
            retained.Sum().Backward();
            Assert.Null(hidden.Grad);
            Assert.True(TensorArena.FreeBuffers > 0);   // dropped intermediate gradients went back before the step ended
        }
        Assert.Equal([1f, 1f, 1f, 1f], retained.Grad!.ToArray());
        Assert.Equal(-1, retained.Grad!.lease);
        // x·x = [[-5, -10], [15, 10]]: relu passes the second row, G = [[0, 0], [1, 1]]; d/dx Σ relu(x·x) = G·xᵀ + xᵀ·G.
        Assert.Equal([3f, 3f, 3f, 11f], x.Grad!.ToArray());
    }

    [Fact]
    public void TheNextStepReusesTheTensorObjectsAndNodesOfTheLast()
    {
        var w = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2).RequireGrad();
        var x = Tensor.FromArray([1f, -1f, 0.5f, 2f], 2, 2);
        Tensor first;
        object firstNode;
        using (TensorArena.Step())
        {
            first = Tensor.Linear(x, w).Relu();
            firstNode = first.Node!;
            first.Sum().Backward();
        }
        Assert.Null(first.Node);   // recycled: emptied, its node back in the pool
        using (TensorArena.Step())
        {
            var second = Tensor.Linear(x, w).Relu();
            // The same op sequence in the next step is served the same objects, filled anew.
            Assert.Same(first, second);
            Assert.Same(firstNode, second.Node);
            Assert.Equal("relu", second.Op);
            Assert.Equal([2, 2], second.Shape);
            using (TensorArena.Disable()) Assert.Equal(Tensor.Linear(x, w).Relu().ToArray(), second.ToArray());
        }
    }

    [Fact]
    public void TheEndOfARunLetsGoOfThePool()
    {
        var data = Classification(32, 6, 3, seed: 4);
        var model = ResidualModel(6, 8, 3);
        model.Fit(data, Losses.CrossEntropy, new Sgd(model.Parameters(), 0.1f),
            new FitOptions { Epochs = 1, BatchSize = 8, Validation = data, Engine = TrainingEngine.Graph });
        Assert.Equal(0, TensorArena.FreeBuffers);
        using (TensorArena.Session())
        {
            model.Evaluate(data, Losses.CrossEntropy);
            Assert.True(TensorArena.FreeBuffers > 0);   // inside a run (Fit's validation) the pool keeps its buffers
        }
        Assert.Equal(0, TensorArena.FreeBuffers);
    }

    [Fact]
    public void NestedStepsReturnOnlyTheirOwnBuffers()
    {
        bool was = TensorArena.PoisonOnRelease;
        TensorArena.PoisonOnRelease = true;
        try
        {
            var a = Tensor.FromArray([1f, 2f]);
            using (TensorArena.Step())
            {
                var outer = a * 3f;
                Tensor inner;
                float[] innerStorage;
                using (TensorArena.Step())
                {
                    inner = outer + 1f;
                    innerStorage = inner.data;
                }
                Assert.Equal([3f, 6f], outer.ToArray());
                Assert.Equal(0, inner.Size);   // the inner step's tensor object went back to the pool, emptied
                Assert.True(float.IsNaN(innerStorage[0]));   // and its storage was poisoned on the way
            }
        }
        finally
        {
            TensorArena.PoisonOnRelease = was;
        }
    }
}

/// <summary>Bytes a steady-state graph step allocates on every thread, so it must not run beside other tests.</summary>
[Collection(nameof(AllocationCounting))]
public sealed class TensorArenaAllocationTests(ITestOutputHelper output)
{
    // The residual model, the reference MLP (784-256-128-10) or a small CNN with cross-entropy, or the mixed model
    // (BatchNorm1d, dropout, sigmoid) with MSE on one-hot targets; Adam, batch 64. Returns the bytes a steady-state
    // step allocates, on this thread and on the workers for it (the mean of 100 steps); writes which steps allocated.
    private long BytesPerGraphStep(bool pooled, string kind = "residual")
    {
        var data = TensorArenaTests.Classification(128, kind == "mlp" ? 784 : 64, 10, seed: 2);
        if (kind == "cnn") data = data.WithSampleShape(1, 8, 8);
        var model = kind switch
        {
            "residual" => TensorArenaTests.ResidualModel(64, 128, 10),
            "mixed" => TensorArenaTests.MixedModel(64, 128, 10),
            "mlp" => Mlp.Create(784, [256, 128], 10, "relu", rng: new Rng(1)),   // the reference MLP, through the graph
            _ => ModelLanguage.Build("conv(8,3,pad=1)-relu-maxpool(2)-conv(16,3,pad=1)-batchnorm-relu-avgpool(2)-flatten-dense(10)",
                [1, 8, 8], new Rng(3)),   // the NCHW convolution and pooling kernels, through the graph
        };
        ILoss loss = kind == "mixed" ? Losses.MSE : Losses.CrossEntropy;
        var adam = new Adam(model.Parameters(), 1e-3f);
        int[] a = [.. Enumerable.Range(0, 64)], b = [.. Enumerable.Range(64, 64)];
        bool validated = false;
        using var off = pooled ? default : TensorArena.Disable();
        model.Train();
        // Steady state: past the runtime's tiered recompilation of the step's methods (after 30 calls).
        for (int warm = 0; warm < 40; warm++) Trainer.TrainBatch(model, data, loss, adam, warm % 2 == 0 ? a : b, ref validated);
        // Then windows of 100 steps, until one allocates nothing (at most three with the pool): a one-time event of the
        // runtime's (a late tier-1 recompilation, a shared array pool refilled after a GC under memory pressure trimmed
        // it) can fall into one window but not into each, while what a step allocates itself, even every tenth step,
        // falls into every window. A one-time allocation of tens of bytes rounds away in the mean.
        const int Steps = 100;
        long perStep = 0;
        for (int window = 0; window < (pooled ? 3 : 1); window++)
        {
            long total = 0;
            var allocating = new List<string>();
            for (int s = 0; s < Steps; s++)
            {
                var rows = s % 2 == 0 ? a : b;
                long bytes = AllocationCount.Of(() => Trainer.TrainBatch(model, data, loss, adam, rows, ref validated));
                if (bytes != 0 && allocating.Count < 8) allocating.Add($"step {s}: {bytes} bytes");
                total += bytes;
            }
            perStep = total / Steps;
            if (pooled && allocating.Count > 0)
                output.WriteLine($"{kind}, pooled, window {window + 1}: steps that allocated: {string.Join(", ", allocating)}");
            if (perStep == 0) break;
        }
        return perStep;
    }

    [Theory]
    [InlineData("residual")]
    [InlineData("mixed")]
    [InlineData("mlp")]
    [InlineData("cnn")]
    public void ASteadyStateGraphStepOfACustomModelAllocatesNothing(string kind)
    {
        long plain = BytesPerGraphStep(pooled: false, kind);
        long pooled = BytesPerGraphStep(pooled: true, kind);
        output.WriteLine($"{kind}: bytes per graph step: {plain} without the pool, {pooled} with it");
        // Tensor objects, nodes and shapes come from the pool too (the ops here record static backwards), and the step
        // gathers its batch and counts its hits without arrays of its own.
        Assert.True(pooled == 0, $"a pooled graph step allocated {pooled} bytes ({plain} without the pool)");
        Assert.True(pooled * 20 < plain, $"a pooled graph step allocated {pooled} bytes, not under 5% of the {plain} without the pool");
    }
}
