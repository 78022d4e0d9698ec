using Backprop.Distributed;

namespace Backprop.Tests.Distributed;

/// <summary>The sampler's shards, the bucketed gradient averaging, and the in-process communicator's faults.</summary>
public sealed class CommunicationTests
{
    [Fact]
    public void ShardsArePaddedEvenlyAndTogetherFormOneProcesssBatches()
    {
        int[] order = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0];
        Assert.Equal([9, 6, 3, 0], DistributedSampler.Shard(order, 0, 3));
        Assert.Equal([8, 5, 2, 9], DistributedSampler.Shard(order, 1, 3));   // padded with the order's first rows
        Assert.Equal([7, 4, 1, 8], DistributedSampler.Shard(order, 2, 3));
        // Local batch t of b = 2 rows on each of 3 ranks = positions [6t, 6t + 6) of the padded order.
        var batch0 = Enumerable.Range(0, 3).SelectMany(r => DistributedSampler.Shard(order, r, 3)[..2]).Order();
        Assert.Equal(order[..6].Order(), batch0);
    }

    [Fact]
    public void TheSamplerDrawsEachEpochFromSeedPlusEpochAlike()
    {
        var rank0 = new DistributedSampler(10, 0, 2, seed: 4);
        var rank1 = new DistributedSampler(10, 1, 2, seed: 4);
        Assert.Equal(5, rank0.RowsPerRank);
        Assert.Equal(Enumerable.Range(0, 10), rank0.Indices(3).Concat(rank1.Indices(3)).Order());
        Assert.Equal(rank0.Indices(3), new DistributedSampler(10, 0, 2, seed: 5).Indices(2));
        Assert.NotEqual(rank0.Indices(3), rank0.Indices(4));
    }

    [Fact]
    public void GradientsAreAveragedInBucketsInTheSameOrder()
    {
        var results = new float[2][][];
        var counts = new (int Buckets, long Bytes)[2];
        ThreadCommunicator.Run(2, comm =>
        {
            Tensor[] parameters = [Tensor.Zeros([5]), Tensor.Zeros([2]), Tensor.Zeros([1]), Tensor.Zeros([3])];
            foreach (var p in parameters.Take(3)) p.RequiresGrad = true;
            foreach (var p in parameters.Take(3)) p.Grad = Tensor.FromArray([.. Enumerable.Range(0, p.Size).Select(i => (float)(10 * comm.Rank + i))]);
            parameters[3].Grad = Tensor.FromArray([7f, 7f, 7f]);
            var averager = new GradientAverager(comm, parameters, bucketBytes: 12);
            averager.Average();
            results[comm.Rank] = [.. parameters.Select(p => p.Grad!.ToArray())];
            counts[comm.Rank] = (averager.BucketsPerStep, averager.BytesPerStep);
        });
        float[][] expected = [[5, 6, 7, 8, 9], [5, 6], [5], [7, 7, 7]];   // (i + (10 + i)) / 2; the frozen one untouched
        Assert.Equal(expected, results[0]);
        Assert.Equal(expected, results[1]);
        Assert.Equal((3, 32L), counts[0]);   // 8 floats in buckets of 3: 3 + 3 + 2
    }

    [Fact]
    public void ARankThatStopsAnsweringEndsTheOthersWaitWithAMessage()
    {
        var e = Assert.Throws<RankFailedException>(() => ThreadCommunicator.Run(2, comm =>
        {
            if (comm.Rank == 1) return;   // never joins the allreduce
            comm.AllReduce(new float[4]);
        }, TimeSpan.FromMilliseconds(300)));
        Assert.Equal("rank 0 stopped: rank 0 waited 0.3 s in a collective for the other ranks", e.Message);
    }

    [Fact]
    public void ARankThatFailsEndsTheOthersAndItsErrorIsReported()
    {
        var e = Assert.Throws<InvalidDataException>(() => ThreadCommunicator.Run(3, comm =>
        {
            if (comm.Rank == 2) throw new InvalidDataException("rank 2's file is corrupt");
            comm.Barrier();
        }));
        Assert.Equal("rank 2's file is corrupt", e.Message);
    }

    [Fact]
    public void AllReduceAndBroadcastGiveEveryRankTheSameValues()
    {
        var sums = new float[3][];
        var maxima = new double[3][];
        var broadcast = new float[3][];
        ThreadCommunicator.Run(3, comm =>
        {
            float[] x = [comm.Rank, 1f];
            comm.AllReduce(x);
            sums[comm.Rank] = x;
            double[] m = [comm.Rank, -comm.Rank];
            comm.AllReduce(m, ReduceOperation.Max);
            maxima[comm.Rank] = m;
            float[] b = [comm.Rank + 1f];
            comm.Broadcast(b, root: 2);
            broadcast[comm.Rank] = b;
        });
        Assert.All(sums, s => Assert.Equal([3f, 3f], s));
        Assert.All(maxima, s => Assert.Equal([2.0, 0.0], s));
        Assert.All(broadcast, s => Assert.Equal([3f], s));
    }
}
