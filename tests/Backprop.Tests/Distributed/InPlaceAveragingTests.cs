using System.Diagnostics;
using Backprop.Distributed;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Tests.Distributed;

/// <summary>
/// The averager reduces large gradients in their own storage (no copy), stages small ones together, and gives the
/// same bits whichever way a gradient went; a steady-state step allocates nothing.
/// </summary>
public sealed class InPlaceAveragingTests
{
    private const int Large = GradientAverager.InPlaceMinimumBytes / sizeof(float) + 3;   // reduced in place

    // Rank r's gradient of parameter p: values that differ per rank, parameter and element.
    private static float[] GradientValues(int rank, int parameter, int size) =>
        [.. Enumerable.Range(0, size).Select(i => MathF.Sin(0.37f * i + 1.3f * parameter + 2.1f * rank) * (1 + rank))];

    // What every rank must hold: (((g_0 + g_1) + g_2) + …) / N, element by element, as the in-process ranks sum.
    private static float[] Mean(int ranks, int parameter, int size)
    {
        var sum = GradientValues(0, parameter, size);
        for (int r = 1; r < ranks; r++)
        {
            var g = GradientValues(r, parameter, size);
            for (int i = 0; i < size; i++) sum[i] += g[i];
        }
        return [.. sum.Select(s => s / ranks)];
    }

    // Sizes in optimizer order; reverse order is [4 (frozen), 3, Large, 5], so the staged bucket holds 3 and 5.
    private static readonly int[] Sizes = [5, Large, 3, 4];

    private static Tensor[] Parameters(int rank)
    {
        var parameters = Sizes.Select(s => Tensor.Zeros([s])).ToArray();
        for (int p = 0; p < 3; p++)
        {
            parameters[p].RequiresGrad = true;
            parameters[p].Grad = Tensor.FromArray(GradientValues(rank, p, Sizes[p]));
        }
        parameters[3].Grad = Tensor.FromArray([7f, 7f, 7f, 7f]);   // frozen: skipped
        return parameters;
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void LargeGradientsAreAveragedInTheirOwnStorageAndSmallOnesTogether(int ranks)
    {
        var failures = new List<string>();
        ThreadCommunicator.Run(ranks, comm =>
        {
            var parameters = Parameters(comm.Rank);
            var grads = parameters.Select(p => p.Grad!).ToArray();
            var averager = new GradientAverager(comm, parameters);
            averager.Average();
            lock (failures)
            {
                for (int p = 0; p < parameters.Length; p++)
                    if (!ReferenceEquals(grads[p], parameters[p].Grad)) failures.Add($"rank {comm.Rank}: parameter {p}'s Grad was replaced");
                for (int p = 0; p < 3; p++)
                    if (!Mean(ranks, p, Sizes[p]).SequenceEqual(parameters[p].Grad!.ToArray())) failures.Add($"rank {comm.Rank}: parameter {p} is not the mean");
                if (!parameters[3].Grad!.ToArray().SequenceEqual([7f, 7f, 7f, 7f])) failures.Add($"rank {comm.Rank}: the frozen gradient changed");
                // Two allreduces: the large gradient in place, then 3 + 5 small values staged together.
                if ((averager.BucketsPerStep, averager.BytesPerStep, averager.StagedBytesPerStep) != (2, 4L * (Large + 8), 4L * 8))
                    failures.Add($"rank {comm.Rank}: {averager.BucketsPerStep} buckets, {averager.BytesPerStep} bytes, {averager.StagedBytesPerStep} staged");
            }
        });
        Assert.Empty(failures);
    }

    [Theory]
    [InlineData(4)]                 // every value its own bucket: all staged one by one
    [InlineData(12)]                // buckets of 3: whole buckets of the large gradient in place, the rest staged
    [InlineData(4 * 1000)]          // the large gradient in pieces of 1000, in place
    [InlineData(GradientAverager.DefaultBucketBytes)]
    public void TheBitsDoNotDependOnHowTheGradientsWereCutOrWhichWereStaged(int bucketBytes)
    {
        const int ranks = 3;
        var results = new float[ranks][][];
        ThreadCommunicator.Run(ranks, comm =>
        {
            var parameters = Parameters(comm.Rank);
            new GradientAverager(comm, parameters, bucketBytes).Average();
            results[comm.Rank] = [.. parameters.Take(3).Select(p => p.Grad!.ToArray())];
        });
        for (int r = 0; r < ranks; r++)
            for (int p = 0; p < 3; p++) Assert.Equal(Mean(ranks, p, Sizes[p]), results[r][p]);
    }

    [Fact]
    public void ARankWithoutAGradientAddsZerosAndKeepsNone()
    {
        var results = new float[]?[2][];
        ThreadCommunicator.Run(2, comm =>
        {
            var parameters = Parameters(comm.Rank);
            if (comm.Rank == 1) parameters[1].Grad = parameters[2].Grad = null;   // one reduced in place, one staged
            new GradientAverager(comm, parameters).Average();
            results[comm.Rank] = [.. parameters.Take(3).Select(p => p.Grad?.ToArray())];
        });
        Assert.Null(results[1][1]);
        Assert.Null(results[1][2]);
        Assert.Equal(results[0][0], results[1][0]);
        for (int p = 1; p < 3; p++) Assert.Equal(GradientValues(0, p, Sizes[p]).Select(g => (g + 0f) / 2), results[0][p]!);
    }

    [Fact]
    public void FreezingALayerAfterTheFirstStepLaysTheBucketsOutAgain()
    {
        var counts = new (int Buckets, long Bytes)[2];
        ThreadCommunicator.Run(2, comm =>
        {
            var parameters = Parameters(comm.Rank);
            var averager = new GradientAverager(comm, parameters);
            averager.Average();
            parameters[1].RequiresGrad = false;
            averager.Average();
            counts[comm.Rank] = (averager.BucketsPerStep, averager.BytesPerStep);
        });
        Assert.Equal((1, 4L * 8), counts[0]);
    }

    [Fact]
    public void GradientsAreAveragedWhereTheyLieAfterZeroGradAndANewBackward()
    {
        var data = DistributedData.Classification(24, [12]);
        var failures = new List<string>();
        ThreadCommunicator.Run(2, comm =>
        {
            var model = DistributedData.Build("dense(5000)-relu-dense(4)", data);   // a 60,000-value weight: in place
            var optimizer = DistributedData.Optimizer("sgd", model);
            var averager = new GradientAverager(comm, optimizer.Parameters);
            for (int step = 0; step < 2; step++)
            {
                optimizer.ZeroGrad();
                int[] rows = [.. Enumerable.Range(12 * comm.Rank, 12)];
                var (x, y) = (data.Features.Rows(rows), data.Targets.Rows(rows));   // class indices held as floats
                Losses.CrossEntropy.Compute(model.Call(x), y).Backward();
                var grads = optimizer.Parameters.Select(p => p.Grad!).ToArray();
                var mine = grads.Select(g => g.ToArray()).ToArray();
                var sums = grads.Select(g => g.ToArray()).ToArray();
                foreach (var s in sums) comm.AllReduce(s);
                averager.Average();
                lock (failures)
                {
                    for (int p = 0; p < grads.Length; p++)
                    {
                        if (!ReferenceEquals(grads[p], optimizer.Parameters[p].Grad)) failures.Add($"step {step}: parameter {p}'s Grad was replaced");
                        if (!sums[p].Select(s => s / 2).SequenceEqual(grads[p].ToArray())) failures.Add($"step {step}: parameter {p} is not the mean");
                        if (mine[p].SequenceEqual(grads[p].ToArray())) failures.Add($"step {step}: parameter {p} was not averaged (the ranks' gradients were equal: the test cannot fail)");
                    }
                }
                optimizer.Step();
            }
            Assert.True(averager.StagedBytesPerStep < averager.BytesPerStep / 10);
        });
        Assert.Empty(failures);
    }

    [Fact]
    public void FitsCompiledStepKeepsItsGradientBuffersAndAveragesThemInPlace()
    {
        var data = DistributedData.Classification(96, [12]);
        var failures = new List<string>();
        ThreadCommunicator.Run(2, comm =>
        {
            var model = DistributedData.Build("dense(2000)-relu-dense(4)", data);
            var optimizer = DistributedData.Optimizer("adam", model);
            Tensor?[]? first = null;
            int batches = 0;
            var dp = new DataParallel(comm);
            var history = model.Fit(data, Losses.CrossEntropy, optimizer, new FitOptions
            {
                Epochs = 2, BatchSize = 24, Seed = 1, Engine = TrainingEngine.Compiled, Parallel = dp,
                OnBatch = _ =>
                {
                    var grads = optimizer.Parameters.Select(p => p.Grad).ToArray();
                    first ??= grads;
                    batches++;
                    lock (failures)
                        if (!grads.SequenceEqual(first, ReferenceEqualityComparer.Instance) || grads.Any(g => g is null))
                            failures.Add($"rank {comm.Rank}, batch {batches}: the gradients are not the plan's buffers of the first batch");
                },
            });
            lock (failures)
            {
                if (history.Engine != TrainingEngine.Compiled) failures.Add("not the compiled step");
                if (batches != 8) failures.Add($"{batches} batches");
                // The averaging time is measured inside the epochs' training time: a share of it, never more.
                if (!(dp.AveragingTime > TimeSpan.Zero && dp.AveragingTime <= dp.TrainingTime))
                    failures.Add($"rank {comm.Rank}: averaging {dp.AveragingTime} of training {dp.TrainingTime}");
            }
        });
        Assert.Empty(failures);
    }

    [Fact]
    public void AveragingAllocatesNothingOnceLaidOut()
    {
        var (optimizer, dp, _) = Started(new MirrorCommunicator(2), shard: false);
        double loss = 1;
        int correct = 1;
        dp.AverageGradients(optimizer.Parameters, ref loss, ref correct);   // warm: the JIT compiles what it runs
        Assert.Equal(0, AllocationCount.FewestOnThisThread(() =>
        {
            for (int i = 0; i < 10; i++) dp.AverageGradients(optimizer.Parameters, ref loss, ref correct);
        }));
        Assert.Equal(1f, optimizer.Parameters[0].Grad!.AsSpan()[0]);   // (1 + 1) / 2 each time
        Assert.Equal(Math.Pow(2, 31), loss);                             // summed over two identical ranks, 31 times
        Assert.True(dp.StagedBytesPerStep > 0 && dp.StagedBytesPerStep < dp.BytesPerStep);
    }

    [Fact]
    public void AShardedStepAllocatesNothingOnceLaidOut()
    {
        var (optimizer, dp, _) = Started(new MirrorCommunicator(2), shard: true);
        Assert.True(dp.ShardsOptimizer);
        double loss = 1;
        int correct = 1;
        void Step()
        {
            dp.AverageGradients(optimizer.Parameters, ref loss, ref correct);
            dp.Step(optimizer, clipValue: 0.5f, clipNorm: 10f);
        }
        Step();   // warm: the JIT compiles what it runs
        Assert.Equal(0, AllocationCount.FewestOnThisThread(() =>
        {
            for (int i = 0; i < 10; i++) Step();
        }));
        Assert.Equal(31, optimizer.StepCount);
    }

    [Fact]
    public void WaitingTimeIsTheCommunicatorsWaitingInsideTheStepsAveragingOnly()
    {
        var comm = new MirrorCommunicator(2, spinTicks: Stopwatch.Frequency / 20_000);   // 50 µs of waiting a collective
        var (optimizer, dp, model) = Started(comm, shard: true);
        // The start-up checks and broadcasts waited, outside any step.
        Assert.True(comm.WaitedTicks > 0);
        Assert.Equal(TimeSpan.Zero, dp.WaitingTime);

        long before = comm.WaitedTicks;
        double loss = 1;
        int correct = 1;
        for (int i = 0; i < 3; i++)
        {
            dp.AverageGradients(optimizer.Parameters, ref loss, ref correct);
            dp.Step(optimizer, clipValue: null, clipNorm: 10f);   // the norm's allreduce counts too
        }
        long inSteps = comm.WaitedTicks - before;
        // Each step: the reduce-scatter's buckets, the loss totals, the norm and the parameters' allgather, at least.
        Assert.True(inSteps >= 3 * 4 * Stopwatch.Frequency / 20_000, $"{inSteps} ticks");
        Assert.Equal(TimeSpan.FromSeconds(inSteps / (double)Stopwatch.Frequency), dp.WaitingTime);
        Assert.True(dp.WaitingTime <= dp.AveragingTime, $"waiting {dp.WaitingTime} of averaging {dp.AveragingTime}");

        // The epoch's end gathers the optimizer state and checks the replicas: collectives outside the averaging.
        dp.EndEpoch(model);
        Assert.True(comm.WaitedTicks > before + inSteps);
        Assert.Equal(TimeSpan.FromSeconds(inSteps / (double)Stopwatch.Frequency), dp.WaitingTime);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void APowerOfTwoRankCountsMeanHasTheBitsOfADivisionAtTheEdges(int ranks)
    {
        // Subnormals, the smallest normal, values whose sum overflows, signed zeros, odd mantissas.
        float[] values = [float.Epsilon, 3 * float.Epsilon, -7 * float.Epsilon, 1.1754942e-38f, 1.17549435e-38f, float.MaxValue,
            -float.MaxValue / 3, 0f, -0f, 1f / 3, MathF.PI, -1.0000001f, 16777215f, 3.4028e38f / 8];
        var parameter = Tensor.Zeros([values.Length]);
        parameter.RequiresGrad = true;
        parameter.Grad = Tensor.FromArray(values);
        new GradientAverager(new MirrorCommunicator(ranks), [parameter]).Average();
        for (int i = 0; i < values.Length; i++)
        {
            float expected = values[i] * ranks / ranks;   // the sum the mirror forms, divided
            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(parameter.Grad!.AsSpan()[i]));
        }
    }

    // A dense(5000) MLP with Adam, every gradient ones, and a DataParallel over `comm` started on it (its buckets laid
    // out at the first average).
    private static (Backprop.Optim.Optimizer Optimizer, DataParallel Parallel, Module Model) Started(ICommunicator comm, bool shard)
    {
        var data = DistributedData.Classification(48, [12]);
        var model = DistributedData.Build("dense(5000)-relu-dense(4)", data);
        var optimizer = DistributedData.Optimizer("adam", model);
        foreach (var p in optimizer.Parameters) p.Grad = Tensor.Ones([.. p.Shape]);
        var dp = new DataParallel(comm, new DataParallelOptions { ShardOptimizer = shard });
        dp.Start(model, optimizer, data, new FitOptions { Epochs = 1, BatchSize = 12 });
        return (optimizer, dp, model);
    }

    /// <summary>
    /// N ranks that all hold what this one holds, in one thread, allocating nothing: a sum is N times the value (a mean that
    /// divided by N), the largest and smallest are the value, a broadcast leaves it. With spinTicks, every collective
    /// first spins that long and counts it as waiting for the other ranks (IWaitCounting), as the shared window's
    /// barriers do.
    /// </summary>
    private sealed class MirrorCommunicator(int size, long spinTicks = 0) : ICommunicator, IWaitCounting
    {
        public int Rank => 0;

        public int Size => size;

        public long WaitedTicks { get; private set; }

        private void Wait()
        {
            if (spinTicks == 0) return;
            long started = Stopwatch.GetTimestamp();
            while (Stopwatch.GetTimestamp() - started < spinTicks) Thread.SpinWait(10);
            WaitedTicks += Stopwatch.GetTimestamp() - started;
        }

        public void AllReduce(Span<float> data, ReduceOperation operation = ReduceOperation.Sum)
        {
            Wait();
            if (operation is ReduceOperation.Sum or ReduceOperation.Mean) System.Numerics.Tensors.TensorPrimitives.Multiply(data, size, data);
            if (operation == ReduceOperation.Mean) RankMean.Divide(data, size);
        }

        public void AllReduce(Span<double> data, ReduceOperation operation = ReduceOperation.Sum)
        {
            Wait();
            if (operation is ReduceOperation.Sum or ReduceOperation.Mean)
                for (int i = 0; i < data.Length; i++) data[i] *= size;
            if (operation == ReduceOperation.Mean) RankMean.Divide(data, size);
        }

        public void ReduceScatter(Span<float> data, ReduceOperation operation = ReduceOperation.Sum) => AllReduce(data, operation);

        public void AllGather(Span<float> data) => Wait();

        public void Broadcast(Span<float> data, int root = 0) => Wait();

        public void Broadcast(Span<double> data, int root = 0) => Wait();

        public void Barrier() => Wait();

        public void Abort(int exitCode) => throw new InvalidOperationException($"aborted with {exitCode}");

        public void Dispose()
        {
        }
    }
}
