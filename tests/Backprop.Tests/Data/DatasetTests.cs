using Backprop.Data;

namespace Backprop.Tests.Data;

public sealed class DatasetTests
{
    private static int[] ClassCounts(Dataset d)
    {
        var counts = new int[d.NumClasses];
        foreach (var y in d.Targets.AsSpan()) counts[(int)y]++;
        return counts;
    }

    // Rows of a dataset as strings "f0,f1,...|y", to compare splits as sets and sequences.
    private static string[] RowKeys(Dataset d)
    {
        var x = d.Features.AsSpan();
        var y = d.Targets.AsSpan();
        int f = d.NumFeatures, k = y.Length / d.Count;
        var keys = new string[d.Count];
        for (int i = 0; i < d.Count; i++)
            keys[i] = string.Join(",", x.Slice(i * f, f).ToArray()) + "|" + string.Join(",", y.Slice(i * k, k).ToArray());
        return keys;
    }

    [Fact]
    public void IrisSplitIsStratified()
    {
        var (train, test) = Datasets.Iris().Split(0.8, seed: 1);
        Assert.Equal(120, train.Count);
        Assert.Equal(30, test.Count);
        Assert.Equal([40, 40, 40], ClassCounts(train));
        Assert.Equal([10, 10, 10], ClassCounts(test));
        Assert.Equal(["setosa", "versicolor", "virginica"], train.ClassNames!);
        Assert.Equal(Datasets.Iris().FeatureNames, test.FeatureNames);
    }

    [Fact]
    public void SplitPartitionsTheRows()
    {
        var all = Datasets.Moons(samples: 101, seed: 3);
        var (train, test) = all.Split(0.7, seed: 5);
        Assert.Equal(71, train.Count);
        Assert.Equal(30, test.Count);
        // 50 of class 0 and 51 of class 1: 0.7 of each is 35 and 35.7, so 35 + 36 = 71.
        Assert.Equal([35, 36], ClassCounts(train));
        Assert.Equal(RowKeys(all).Order(), RowKeys(train).Concat(RowKeys(test)).Order());
    }

    [Fact]
    public void SplitIsDeterministicPerSeed()
    {
        var iris = Datasets.Iris();
        var (a, _) = iris.Split(0.8, seed: 7);
        var (b, _) = iris.Split(0.8, seed: 7);
        var (c, _) = iris.Split(0.8, seed: 8);
        Assert.Equal(RowKeys(a), RowKeys(b));
        Assert.NotEqual(RowKeys(a), RowKeys(c));
    }

    [Fact]
    public void SplitShufflesEachPart()
    {
        var (train, _) = Datasets.Iris().Split(0.8, seed: 0);
        var y = train.Targets.AsSpan().ToArray();
        Assert.NotEqual(y.Order(), y);
    }

    [Fact]
    public void RegressionSplitUsesRoundedFraction()
    {
        var x = Tensor.Arange(10).Reshape(10, 1);
        var data = new Dataset(x, x.Clone());
        var (train, test) = data.Split(0.75, seed: 2);
        Assert.Equal(8, train.Count); // round(7.5) away from zero
        Assert.Equal(2, test.Count);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (float)i),
            train.Features.ToArray().Concat(test.Features.ToArray()).Order());
        Assert.Equal(train.Features.ToArray(), train.Targets.ToArray());
        Assert.False(train.IsClassification);
        Assert.Null(train.ClassNames);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void SplitRejectsFractionsOutsideZeroOne(double fraction) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Datasets.Iris().Split(fraction, 0));

    [Fact]
    public void SubsetAndTakeSelectRows()
    {
        var iris = Datasets.Iris();
        var sub = iris.Subset([101, 0, 50]);
        Assert.Equal([5.8f, 2.7f, 5.1f, 1.9f, 5.1f, 3.5f, 1.4f, 0.2f, 7.0f, 3.2f, 4.7f, 1.4f], sub.Features.ToArray());
        Assert.Equal([2f, 0f, 1f], sub.Targets.ToArray());
        var first = iris.Take(2);
        Assert.Equal([5.1f, 3.5f, 1.4f, 0.2f, 4.9f, 3.0f, 1.4f, 0.2f], first.Features.ToArray());
        Assert.Equal(150, iris.Take(1000).Count);
        Assert.Equal(0, iris.Take(0).Count);
    }

    [Fact]
    public void WithFeaturesKeepsTargetsAndChecksRows()
    {
        var xor = Datasets.Xor();
        var replaced = xor.WithFeatures(Tensor.Ones(4, 2));
        Assert.Equal(xor.Targets.ToArray(), replaced.Targets.ToArray());
        Assert.Equal(xor.FeatureNames, replaced.FeatureNames);
        var widened = xor.WithFeatures(Tensor.Ones(4, 3));
        Assert.Equal(["x0", "x1", "x2"], widened.FeatureNames);
        var ex = Assert.Throws<ShapeMismatchException>(() => xor.WithFeatures(Tensor.Ones(3, 2)));
        Assert.Contains("expected features [4, *] but got [3,2]", ex.Message);
    }

    [Fact]
    public void ConstructorNamesMismatchedRowCounts()
    {
        var ex = Assert.Throws<ShapeMismatchException>(() => new Dataset(Tensor.Zeros(5, 2), Tensor.Zeros(4), name: "toy"));
        Assert.Equal("Dataset 'toy': features [5,2] have 5 rows but targets [4] have 4.", ex.Message);
    }

    [Fact]
    public void ConstructorRejectsRankOneFeatures()
    {
        var ex = Assert.Throws<ShapeMismatchException>(() => new Dataset(Tensor.Zeros(5), Tensor.Zeros(5)));
        Assert.Contains("features must have shape [N, F] (rank 2) but got [5]", ex.Message);
    }

    [Theory]
    [InlineData(1.5f, "target 2 must be a class index (an integer in 0..2) but is 1.5")]
    [InlineData(3f, "target 2 must be a class index (an integer in 0..2) but is 3")]
    [InlineData(-1f, "target 2 must be a class index (an integer in 0..2) but is -1")]
    public void ConstructorRejectsBadClassIndices(float bad, string expected)
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            new Dataset(Tensor.Zeros(3, 1), Tensor.FromArray([0f, 1f, bad]), classNames: ["a", "b", "c"]));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void ConstructorChecksFeatureNameCount()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Dataset(Tensor.Zeros(3, 2), Tensor.Zeros(3), ["only"]));
        Assert.Contains("have 2 columns but 1 feature names were given", ex.Message);
    }

    [Fact]
    public void ClassNamesDefaultToIndices()
    {
        var d = new Dataset(Tensor.Zeros(3, 1), Tensor.FromArray([0f, 2f, 1f]));
        Assert.Equal(["0", "1", "2"], d.ClassNames!);
        Assert.Equal(3, d.NumClasses);
    }

    [Fact]
    public void RegressionTargetsHaveNoClasses()
    {
        var d = new Dataset(Tensor.Zeros(3, 1), Tensor.Zeros(3, 2));
        Assert.False(d.IsClassification);
        Assert.Equal(0, d.NumClasses);
        Assert.Equal(2, d.NumOutputs);
        Assert.Throws<ArgumentException>(() => new Dataset(Tensor.Zeros(3, 1), Tensor.Zeros(3, 2), classNames: ["a"]));
    }
}
