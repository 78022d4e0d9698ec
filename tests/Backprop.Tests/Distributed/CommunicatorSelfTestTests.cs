using Backprop.Distributed;

namespace Backprop.Tests.Distributed;

/// <summary>
/// The collectives' self-test (<c>backprop selftest --distributed</c>) passes on a correct communicator and names the
/// rank and value where a wrong one differs; the real Open MPI runs are in <see cref="MpirunTests"/>.
/// </summary>
public sealed class CommunicatorSelfTestTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ACorrectCommunicatorPassesEveryCheckOnEveryRank(int ranks)
    {
        var results = new IReadOnlyList<CommunicatorSelfTest.Result>[ranks];
        ThreadCommunicator.Run(ranks, comm => results[comm.Rank] = CommunicatorSelfTest.Run(comm));
        foreach (var r in results[0]) Assert.True(r.Passed, $"{r.Check}: {r.Difference}");
        Assert.Equal(14 - (ranks == 1 ? 1 : 0), results[0].Count);   // one broadcast check when rank 0 is also the last
        for (int rank = 1; rank < ranks; rank++) Assert.Equal(results[0], results[rank]);
    }

    [Fact]
    public void AWrongSumOnOneRankFailsTheCheckOnEveryRankWithWhereItDiffers()
    {
        var results = new IReadOnlyList<CommunicatorSelfTest.Result>[2];
        ThreadCommunicator.Run(2, comm => results[comm.Rank] = CommunicatorSelfTest.Run(new OffByOneOnRank1(comm)));
        Assert.Equal(results[0], results[1]);
        var sum = results[0].Single(r => r.Check.StartsWith("allreduce sum of floats,", StringComparison.Ordinal));
        Assert.False(sum.Passed);
        Assert.Equal("rank 1: 8193 values: [8192] is -62.1875, expected -63.1875", sum.Difference);
        Assert.False(results[0].Single(r => r.Check.StartsWith("allreduce sum of floats that round", StringComparison.Ordinal)).Passed);
        Assert.True(results[0].Single(r => r.Check.StartsWith("allreduce max of floats", StringComparison.Ordinal)).Passed);
        Assert.True(results[0].Single(r => r.Check == "allreduce sum of doubles").Passed);
    }

    [Fact]
    public void AReduceScatterOrAllGatherThatSkipsARankFailsItsCheck()
    {
        var results = new IReadOnlyList<CommunicatorSelfTest.Result>[2];
        ThreadCommunicator.Run(2, comm => results[comm.Rank] = CommunicatorSelfTest.Run(new HalvesSkippedOnRank1(comm)));
        Assert.Equal(results[0], results[1]);
        var scatter = results[0].Single(r => r.Check.StartsWith("reduce-scatter sum of floats", StringComparison.Ordinal));
        Assert.False(scatter.Passed);
        Assert.StartsWith("rank 1: ", scatter.Difference, StringComparison.Ordinal);
        var gather = results[0].Single(r => r.Check.StartsWith("allgather of floats", StringComparison.Ordinal));
        Assert.False(gather.Passed);
        Assert.Equal("rank 1: 1 values: [0] of rank 0's part is NaN, rank 0's value -32", gather.Difference);
        Assert.True(results[0].Single(r => r.Check.StartsWith("allreduce sum of floats,", StringComparison.Ordinal)).Passed);
    }

    /// <summary>On rank 1 the reduce-scatter keeps the rank's own values and the allgather copies nothing in.</summary>
    private sealed class HalvesSkippedOnRank1(ICommunicator inner) : ICommunicator
    {
        public int Rank => inner.Rank;

        public int Size => inner.Size;

        public void AllReduce(Span<float> data, ReduceOperation operation = ReduceOperation.Sum) => inner.AllReduce(data, operation);

        public void AllReduce(Span<double> data, ReduceOperation operation = ReduceOperation.Sum) => inner.AllReduce(data, operation);

        public void ReduceScatter(Span<float> data, ReduceOperation operation = ReduceOperation.Sum)
        {
            var kept = data.ToArray();
            inner.ReduceScatter(data, operation);
            if (Rank == 1) kept.CopyTo(data);
        }

        public void AllGather(Span<float> data)
        {
            var kept = data.ToArray();
            inner.AllGather(data);
            if (Rank == 1) kept.CopyTo(data);
        }

        public void Broadcast(Span<float> data, int root = 0) => inner.Broadcast(data, root);

        public void Broadcast(Span<double> data, int root = 0) => inner.Broadcast(data, root);

        public void Barrier() => inner.Barrier();

        public void Abort(int exitCode) => inner.Abort(exitCode);

        public void Dispose() => inner.Dispose();
    }

    /// <summary>Rank 1's float sums of more than 8192 values come back with their last value one too high.</summary>
    private sealed class OffByOneOnRank1(ICommunicator inner) : ICommunicator
    {
        public int Rank => inner.Rank;

        public int Size => inner.Size;

        public void AllReduce(Span<float> data, ReduceOperation operation = ReduceOperation.Sum)
        {
            inner.AllReduce(data, operation);
            if (Rank == 1 && operation == ReduceOperation.Sum && data.Length > 8192) data[^1] += 1;
        }

        public void AllReduce(Span<double> data, ReduceOperation operation = ReduceOperation.Sum) => inner.AllReduce(data, operation);

        public void ReduceScatter(Span<float> data, ReduceOperation operation = ReduceOperation.Sum) => inner.ReduceScatter(data, operation);

        public void AllGather(Span<float> data) => inner.AllGather(data);

        public void Broadcast(Span<float> data, int root = 0) => inner.Broadcast(data, root);

        public void Broadcast(Span<double> data, int root = 0) => inner.Broadcast(data, root);

        public void Barrier() => inner.Barrier();

        public void Abort(int exitCode) => inner.Abort(exitCode);

        public void Dispose() => inner.Dispose();
    }
}
