using Backprop.Data;

namespace Backprop.Tests.Data;

public sealed class StandardizerTests
{
    private static (double Mean, double Std) Column(Tensor x, int j)
    {
        int n = x.Dim(0), f = x.Dim(1);
        double sum = 0, sq = 0;
        for (int i = 0; i < n; i++) sum += x[i, j];
        double mean = sum / n;
        for (int i = 0; i < n; i++) sq += (x[i, j] - mean) * (x[i, j] - mean);
        return (mean, Math.Sqrt(sq / n));
    }

    [Fact]
    public void FittedOnTrainGivesZeroMeanUnitStdOnTrain()
    {
        var (train, _) = Datasets.Iris().Split(0.8, seed: 0);
        var z = Standardizer.Fit(train.Features).Transform(train);
        for (int j = 0; j < 4; j++)
        {
            var (mean, std) = Column(z.Features, j);
            Assert.True(Math.Abs(mean) < 1e-5, $"column {j} mean {mean}");
            Assert.True(Math.Abs(std - 1) < 1e-5, $"column {j} std {std}");
        }
        Assert.Equal(train.Targets.ToArray(), z.Targets.ToArray());
    }

    [Fact]
    public void TestSetUsesTrainStatistics()
    {
        var (train, test) = Datasets.Iris().Split(0.8, seed: 0);
        var s = Standardizer.Fit(train.Features);
        var z = s.Transform(test.Features);
        for (int i = 0; i < test.Count; i++)
            for (int j = 0; j < 4; j++)
                Assert.Equal((test.Features[i, j] - s.Mean[j]) / s.Std[j], z[i, j], 6);
        // Fitting on the test set itself would give different statistics.
        Assert.NotEqual(s.Mean, Standardizer.Fit(test.Features).Mean);
    }

    [Fact]
    public void SmallExampleHasPopulationStd()
    {
        // Column 0: 1, 3 → μ 2, σ 1. Column 1 is constant: σ 0 is replaced by 1.
        var s = Standardizer.Fit(Tensor.FromArray([1f, 7f, 3f, 7f], 2, 2));
        Assert.Equal([2f, 7f], s.Mean);
        Assert.Equal([1f, 1f], s.Std);
        Assert.Equal([-1f, 0f, 1f, 0f], s.Transform(Tensor.FromArray([1f, 7f, 3f, 7f], 2, 2)).ToArray());
    }

    [Fact]
    public void RoundTripsThroughSavedStatistics()
    {
        var fitted = Standardizer.Fit(Datasets.Iris().Features);
        var restored = new Standardizer(fitted.Mean, fitted.Std);
        var x = Datasets.Iris().Features;
        Assert.Equal(fitted.Transform(x).ToArray(), restored.Transform(x).ToArray());
    }

    [Fact]
    public void ExposedStatisticsAreCopies()
    {
        var s = new Standardizer([1f], [2f]);
        s.Mean[0] = 100f;
        s.Std[0] = 100f;
        Assert.Equal([1f], s.Mean);
        Assert.Equal([2f], s.Std);
    }

    [Fact]
    public void TransformDoesNotChangeItsInput()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2);
        Standardizer.Fit(x).Transform(x);
        Assert.Equal([1f, 2f, 3f, 4f], x.ToArray());
    }

    [Fact]
    public void WrongFeatureCountIsNamed()
    {
        var s = Standardizer.Fit(Tensor.Zeros(3, 4));
        var ex = Assert.Throws<ShapeMismatchException>(() => s.Transform(Tensor.Zeros(2, 5)));
        Assert.Equal("Standardizer: expected features [N, 4] but got [2,5].", ex.Message);
    }

    [Fact]
    public void SavedStatisticsAreValidated()
    {
        Assert.Contains("got 2 means and 1 standard deviations",
            Assert.Throws<ArgumentException>(() => new Standardizer([0f, 0f], [1f])).Message);
        Assert.Contains("standard deviation 0 must be finite and positive but is 0",
            Assert.Throws<ArgumentException>(() => new Standardizer([0f], [0f])).Message);
    }
}
