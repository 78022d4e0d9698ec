using Backprop.Data;
using Backprop.Distributed;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Distributed;

/// <summary>
/// The sharded optimizer step (ZeRO stage 1): each rank clips and steps its part of the parameters, then the ranks
/// share the new values. It must take the step every rank would take whole, and leave the optimizer's state whole
/// wherever Fit reads it (each epoch's end, every checkpoint).
/// </summary>
public sealed class ShardedOptimizerTests
{
    private static readonly FitOptions Clipped = new() { Epochs = 2, BatchSize = 24, Seed = 3, ClipGradNorm = 0.05f, ClipGradValue = 0.02f };

    [Theory]
    [InlineData("mlp", 2, "adam", TrainingEngine.Compiled)]
    [InlineData("mlp", 3, "adamw", TrainingEngine.Graph)]
    [InlineData("cnn", 2, "adamw", TrainingEngine.Compiled)]
    [InlineData("cnn", 3, "adam", TrainingEngine.Graph)]
    [InlineData("mlp", 3, "sgd", TrainingEngine.Compiled)]   // SGD with momentum: the velocity is state, sharded too
    [InlineData("cnn", 2, "sgd", TrainingEngine.Graph)]
    public void AShardedStepIsTheWholeStepWithClippingByValueAndNorm(string kind, int ranks, string optimizer, TrainingEngine engine)
    {
        var (spec, shape) = kind == "mlp" ? (DistributedData.Mlp, new[] { 12 }) : (DistributedData.Cnn, new[] { 1, 8, 8 });
        var data = DistributedData.Classification(240, shape);
        var options = Clipped with { Engine = engine };
        var alone = TrainAlone(spec, data, optimizer, options);
        var (sharded, shardedState, shardedFlags) = TrainParallel(ranks, spec, data, optimizer, options, shard: true);
        var (whole, wholeState, wholeFlags) = TrainParallel(ranks, spec, data, optimizer, options, shard: false);

        Assert.All(shardedFlags, Assert.True);
        Assert.All(wholeFlags, Assert.False);
        var start = DistributedData.Build(spec, data).StateDict().Select(s => s.Tensor.ToArray()).ToArray();
        Assert.True(DistributedData.MaxRelativeDifference(alone.Parameters, start) > 1e-2, "training did not move the weights: the test could not fail");
        DistributedData.AssertClose(sharded[0], alone.Parameters, "the parameters, sharded ranks against one process");
        DistributedData.AssertClose(sharded[0], whole[0], "the parameters, sharded against whole steps");
        // The state each rank holds after training is all of it: what the whole steps and one process hold.
        DistributedData.AssertClose(shardedState[0], wholeState[0], "the optimizer state, sharded against whole steps");
        DistributedData.AssertClose(shardedState[0], alone.State, "the optimizer state, sharded ranks against one process");
        for (int r = 1; r < ranks; r++)
        {
            for (int t = 0; t < sharded[0].Length; t++) Assert.Equal(sharded[0][t], sharded[r][t]);
            for (int t = 0; t < shardedState[0].Length; t++) Assert.Equal(shardedState[0][t], shardedState[r][t]);
        }
    }

    [Fact]
    public void AnOptimizerThatUpdatesParametersWholeIsNotSharded()
    {
        var data = DistributedData.Classification(96, [12]);
        var (_, _, flags) = TrainParallel(2, DistributedData.Mlp, data, "whole", Clipped, shard: true);
        Assert.All(flags, Assert.False);
    }

    [Fact]
    public void AMidEpochCheckpointOfAShardedRunHoldsTheWholeStateAndResumesOnOneProcess()
    {
        // Two ranks stop after 4 of the first epoch's 10 global batches and checkpoint; one process resumes from it.
        // Had the checkpoint kept rank 0's moments only, rank 1's half of them would be where they were at the start
        // of the epoch and the resumed run would drift from the run that never stopped.
        var data = DistributedData.Classification(240, [12]);
        string dir = Path.Combine(Path.GetTempPath(), $"backprop-sharded-{Guid.NewGuid():N}");
        try
        {
            var options = new FitOptions { Epochs = 2, BatchSize = 24, Seed = 3 };
            var alone = TrainAlone(DistributedData.Mlp, data, "adam", options);
            ThreadCommunicator.Run(2, comm =>
            {
                var model = DistributedData.Build(DistributedData.Mlp, data);
                var dp = new DataParallel(comm, new DataParallelOptions { ShardOptimizer = true });
                using var cancel = new CancellationTokenSource();
                var history = model.Fit(data, Losses.CrossEntropy, DistributedData.Optimizer("adam", model), options with
                {
                    Parallel = dp, Cancellation = dp.Agree(cancel.Token), CheckpointDirectory = dir,
                    OnBatch = p => { if (p.Epoch == 1 && p.Seen == 72) cancel.Cancel(); },
                });
                Assert.True(history.Cancelled);
                Assert.True(dp.ShardsOptimizer);
            });
            Assert.Equal((0, 4), Checkpoint.ReadPosition(dir));   // the ranks agree to stop at the next averaging
            var model = DistributedData.Build(DistributedData.Mlp, data);
            var adam = DistributedData.Optimizer("adam", model);
            model.Fit(data, Losses.CrossEntropy, adam, options with { CheckpointDirectory = dir, Resume = true });
            var resumed = model.StateDict().Select(s => s.Tensor.ToArray()).ToArray();
            double difference = DistributedData.MaxRelativeDifference(resumed, alone.Parameters);
            Assert.True(difference <= 1e-5, $"resumed from the sharded run's checkpoint: largest relative difference {difference:E2} > 1e-5");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void StepSlicesStepsOnlyTheSlicesAndCountsOneStep()
    {
        var w = Tensor.FromArray([1f, 2f, 3f, 4f, 5f], 5).RequireGrad();
        w.Grad = Tensor.FromArray([1f, 1f, 1f, 1f, 1f], 5);
        var whole = Tensor.FromArray([1f, 2f, 3f, 4f, 5f], 5).RequireGrad();
        whole.Grad = Tensor.FromArray([1f, 1f, 1f, 1f, 1f], 5);
        var adam = new Adam([w], lr: 0.1f);
        var reference = new Adam([whole], lr: 0.1f);
        int version = w.Version;
        adam.StepSlices([new ParameterSlice(0, 1, 3)]);
        reference.Step();
        Assert.Equal(1, adam.StepCount);
        Assert.True(w.Version > version);
        var values = w.ToArray();
        Assert.Equal([1f, whole.ToArray()[1], whole.ToArray()[2], 4f, 5f], values);
        Assert.NotEqual(2f, values[1]);

        var outside = Assert.Throws<ArgumentOutOfRangeException>(() => adam.StepSlices([new ParameterSlice(0, 3, 6)]));
        Assert.Contains("slice [3, 6) of parameter 0 does not lie within its 5 values", outside.Message, StringComparison.Ordinal);
        var wholeStep = new WholeStep([w]);
        var refused = Assert.Throws<InvalidOperationException>(() => wholeStep.StepSlices([new ParameterSlice(0, 0, 5)]));
        Assert.Contains("updates each parameter whole", refused.Message, StringComparison.Ordinal);
    }

    private static Optimizer OptimizerFor(string name, Module model) => name switch
    {
        "adamw" => new AdamW(model.Parameters(), lr: 0.01f),
        "whole" => new WholeStep(model.Parameters()),
        _ => DistributedData.Optimizer(name, model),
    };

    /// <summary>Plain gradient descent that declares it updates each parameter whole (as an optimizer of one's own may).</summary>
    private sealed class WholeStep(IEnumerable<Tensor> parameters) : Optimizer(parameters, 0.05f)
    {
        public override string Name => "whole-step";

        protected override void Update(int index, int offset, Span<float> parameter, ReadOnlySpan<float> gradient)
        {
            for (int i = 0; i < parameter.Length; i++) parameter[i] -= LearningRate * gradient[i];
        }
    }

    private static (float[][] Parameters, float[][] State) TrainAlone(string spec, Dataset data, string optimizer, FitOptions options)
    {
        var model = DistributedData.Build(spec, data);
        var opt = OptimizerFor(optimizer, model);
        model.Fit(data, Losses.CrossEntropy, opt, options);
        return ([.. model.StateDict().Select(s => s.Tensor.ToArray())], [.. opt.NamedState().Select(s => s.State.ToArray())]);
    }

    private static (float[][][] Parameters, float[][][] State, bool[] Sharded) TrainParallel(int ranks, string spec, Dataset data,
        string optimizer, FitOptions options, bool shard)
    {
        var parameters = new float[ranks][][];
        var state = new float[ranks][][];
        var sharded = new bool[ranks];
        ThreadCommunicator.Run(ranks, comm =>
        {
            var model = DistributedData.Build(spec, data);
            var opt = OptimizerFor(optimizer, model);
            var dp = new DataParallel(comm, new DataParallelOptions { ShardOptimizer = shard });
            model.Fit(data, Losses.CrossEntropy, opt, options with { Parallel = dp });
            parameters[comm.Rank] = [.. model.StateDict().Select(s => s.Tensor.ToArray())];
            state[comm.Rank] = [.. opt.NamedState().Select(s => s.State.ToArray())];
            sharded[comm.Rank] = dp.ShardsOptimizer;
        });
        return (parameters, state, sharded);
    }
}
