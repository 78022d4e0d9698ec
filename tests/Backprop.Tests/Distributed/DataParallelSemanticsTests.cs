using Backprop.Distributed;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Tests.Distributed;

/// <summary>What DataParallel does besides averaging: start-up checks, BatchNorm, dropout, batch split, cancellation.</summary>
public sealed class DataParallelSemanticsTests
{
    private static readonly FitOptions Short = new() { Epochs = 2, BatchSize = 12, Seed = 1 };

    [Fact]
    public void ADifferentSeedOnOneRankStopsEveryRankAtStart()
    {
        var data = DistributedData.Classification(48, [12]);
        var e = Assert.Throws<InvalidOperationException>(() =>
            DistributedData.TrainParallel(3, DistributedData.Mlp, data, "sgd", Short, seedOf: r => r == 2 ? 8 : 7));
        Assert.Equal("rank 2's initial parameters differ from rank 0's (a different seed?): start every rank with the same seed, "
            + "or set DataParallelOptions.RequireSameStart = false to broadcast rank 0's.", e.Message);
    }

    [Fact]
    public void ADifferentModelOnOneRankStopsEveryRankAtStart()
    {
        var data = DistributedData.Classification(48, [12]);
        var messages = new string?[2];
        ThreadCommunicator.Run(2, comm =>
        {
            var model = DistributedData.Build(comm.Rank == 0 ? DistributedData.Mlp : "dense(8)-relu-dense(4)", data);
            try
            {
                model.Fit(data, Losses.CrossEntropy, DistributedData.Optimizer("sgd", model), Short with { Parallel = new DataParallel(comm) });
            }
            catch (InvalidOperationException e)
            {
                messages[comm.Rank] = e.Message;
            }
        });
        const string expected = "rank 1 was given a different model than rank 0 (its layers, parameter names or shapes differ): start every rank with the same model.";
        Assert.Equal(new string?[] { expected, expected }, messages);
    }

    [Fact]
    public void WithoutRequireSameStartRankZerosWeightsAreBroadcast()
    {
        var data = DistributedData.Classification(48, [12]);
        var parallel = DistributedData.TrainParallel(2, DistributedData.Mlp, data, "sgd", Short with { Epochs = 0 },
            new DataParallelOptions { RequireSameStart = false }, seedOf: r => 7 + r);
        var rankZeroStart = DistributedData.Build(DistributedData.Mlp, data, 7).StateDict().Select(s => s.Tensor.ToArray()).ToArray();
        for (int t = 0; t < rankZeroStart.Length; t++) Assert.Equal(rankZeroStart[t], parallel[1][t]);
    }

    [Fact]
    public void SynchronizeCopiesRankZerosStateForALoopOfYourOwn()
    {
        var data = DistributedData.Classification(48, [12]);
        var states = new float[2][][];
        ThreadCommunicator.Run(2, comm =>
        {
            var model = DistributedData.Build("dense(8)-batchnorm-relu-dense(4)", data, seed: 7 + comm.Rank);
            new DataParallel(comm).Synchronize(model);
            states[comm.Rank] = [.. model.StateDict().Select(s => s.Tensor.ToArray())];
        });
        var rankZero = DistributedData.Build("dense(8)-batchnorm-relu-dense(4)", data, seed: 7).StateDict().Select(s => s.Tensor.ToArray()).ToArray();
        Assert.Equal(rankZero, states[0]);
        Assert.Equal(rankZero, states[1]);
    }

    [Fact]
    public void AGlobalBatchThatDoesNotSplitEvenlyIsRefused()
    {
        var data = DistributedData.Classification(48, [12]);
        var e = Assert.Throws<ArgumentException>(() => DistributedData.TrainParallel(3, DistributedData.Mlp, data, "sgd", Short with { BatchSize = 32 }));
        Assert.Equal("the global batch of 32 rows must split evenly among 3 ranks; use a multiple of 3, e.g. 30 or 33.", e.Message);
    }

    [Fact]
    public void BatchNormStatisticsAreRankZerosAfterEachEpochAndReplicasStayIdentical()
    {
        const string spec = "dense(16)-batchnorm-relu-dense(4)";
        var data = DistributedData.Classification(96, [12]);
        var parallel = DistributedData.TrainParallel(2, spec, data, "adam", Short);
        for (int t = 0; t < parallel[0].Length; t++) Assert.Equal(parallel[0][t], parallel[1][t]);
        // Per-rank batch statistics: the run is not one process's (whose BatchNorm sees all 12 rows of a batch).
        var alone = DistributedData.TrainAlone(spec, data, "adam", Short);
        Assert.True(DistributedData.MaxRelativeDifference(parallel[0], alone) > 1e-4);
    }

    [Fact]
    public void DropoutMasksDifferPerRankAndRepeatForTheSameSeed()
    {
        const string spec = "dense(16)-relu-dropout(0.5)-dense(4)";
        var data = DistributedData.Classification(48, [12]);
        (uint, uint, uint, uint)[] Streams()
        {
            var states = new (uint, uint, uint, uint)[3];
            ThreadCommunicator.Run(3, comm =>
            {
                var model = DistributedData.Build(spec, data);
                var dp = new DataParallel(comm);
                dp.StartEpoch(model);
                states[comm.Rank] = model.NamedGenerators().Single().Generator.State;
            });
            return states;
        }
        var first = Streams();
        Assert.Equal(first, Streams());
        Assert.Equal(DistributedData.Build(spec, data).NamedGenerators().Single().Generator.State, first[0]);   // rank 0 keeps one process's stream
        Assert.Equal(3, first.Distinct().Count());
        var trained = DistributedData.TrainParallel(2, spec, data, "sgd", Short);
        for (int t = 0; t < trained[0].Length; t++) Assert.Equal(trained[0][t], trained[1][t]);
    }

    [Fact]
    public void ACancelOnOneRankStopsEveryRankAfterTheSameBatch()
    {
        var data = DistributedData.Classification(96, [12]);
        var histories = new History[2];
        ThreadCommunicator.Run(2, comm =>
        {
            var model = DistributedData.Build(DistributedData.Mlp, data);
            var dp = new DataParallel(comm);
            using var cancel = new CancellationTokenSource();
            var token = dp.Agree(cancel.Token);
            histories[comm.Rank] = model.Fit(data, Losses.CrossEntropy, DistributedData.Optimizer("sgd", model), Short with
            {
                Parallel = dp, Cancellation = token,
                OnBatch = p => { if (comm.Rank == 1 && p.Seen == 36) cancel.Cancel(); },
            });
        });
        Assert.True(histories[0].Cancelled);
        Assert.True(histories[1].Cancelled);
        Assert.Empty(histories[0].Epochs);
    }
}
