using Backprop.Data;

namespace Backprop.Tests.Data;

public sealed class DataLoaderTests
{
    // A dataset whose only feature is the row's index, so batches reveal which rows they hold.
    private static Dataset Indexed(int n) =>
        new(Tensor.Arange(n).Reshape(n, 1), Tensor.FromArray(Enumerable.Range(0, n).Select(i => (float)(i % 3)).ToArray()));

    private static List<int[]> Epoch(DataLoader loader) =>
        loader.Select(b => b.X.ToArray().Select(v => (int)v).ToArray()).ToList();

    [Fact]
    public void EveryRowOnceEpochWithMatchingTargets()
    {
        var loader = new DataLoader(Indexed(10), batchSize: 4, seed: 1);
        Assert.Equal(3, loader.BatchCount);
        var batches = loader.ToList();
        Assert.Equal([4, 4, 2], batches.Select(b => b.X.Dim(0)));
        Assert.All(batches, b => Assert.Equal(b.X.Dim(0), b.Y.Dim(0)));
        var rows = batches.SelectMany(b => b.X.ToArray()).Select(v => (int)v).ToArray();
        Assert.Equal(Enumerable.Range(0, 10), rows.Order());
        Assert.NotEqual(Enumerable.Range(0, 10), rows);
        foreach (var (x, y) in batches)
            for (int i = 0; i < x.Dim(0); i++) Assert.Equal(x[i, 0] % 3, y[i]);
    }

    [Fact]
    public void EpochsDifferButRunsRepeat()
    {
        var a = new DataLoader(Indexed(20), 5, seed: 3);
        var b = new DataLoader(Indexed(20), 5, seed: 3);
        var a1 = Epoch(a).SelectMany(r => r).ToArray();
        var a2 = Epoch(a).SelectMany(r => r).ToArray();
        Assert.NotEqual(a1, a2);
        Assert.Equal(a1, Epoch(b).SelectMany(r => r));
        Assert.Equal(a2, Epoch(b).SelectMany(r => r));
    }

    [Fact]
    public void RestoringRngStateRepeatsTheEpoch()
    {
        var loader = new DataLoader(Indexed(20), 6, seed: 9);
        Epoch(loader);
        var saved = loader.Rng.State;
        var next = Epoch(loader).SelectMany(r => r).ToArray();
        loader.Rng.State = saved;
        Assert.Equal(next, Epoch(loader).SelectMany(r => r));
    }

    [Fact]
    public void DropLastSkipsThePartialBatch()
    {
        var loader = new DataLoader(Indexed(10), 4, dropLast: true);
        Assert.Equal(2, loader.BatchCount);
        var batches = Epoch(loader);
        Assert.Equal(2, batches.Count);
        Assert.All(batches, b => Assert.Equal(4, b.Length));
        Assert.Equal(8, batches.SelectMany(r => r).Distinct().Count());
    }

    [Fact]
    public void WithoutShuffleBatchesFollowDatasetOrder()
    {
        var loader = new DataLoader(Indexed(5), 2, shuffle: false);
        Assert.Equal([[0, 1], [2, 3], [4]], Epoch(loader));
        Assert.Equal([[0, 1], [2, 3], [4]], Epoch(loader));
    }

    [Fact]
    public void BatchLargerThanDatasetGivesOneBatch()
    {
        var loader = new DataLoader(Datasets.Iris(), 1000, shuffle: false);
        Assert.Equal(1, loader.BatchCount);
        var (x, y) = Assert.Single(loader);
        Assert.Equal([150, 4], x.Shape);
        Assert.Equal([150], y.Shape);
        Assert.Equal(0, new DataLoader(Datasets.Iris(), 1000, dropLast: true).BatchCount);
    }

    [Fact]
    public void GradientRecordingIsOnWhileTheCallerHoldsABatch()
    {
        foreach (var _ in new DataLoader(Indexed(6), 2))
            Assert.True(GradMode.IsEnabled);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void NonPositiveBatchSizeIsRejected(int batchSize)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Indexed(4), batchSize));
        Assert.Equal("batchSize", ex.ParamName);
        Assert.Contains($"the batch size must be at least 1 but is {batchSize}", ex.Message);
    }
}
