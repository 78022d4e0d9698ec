using Backprop.Data;

namespace Backprop.Tests.Data;

/// <summary>The embedded Iris data against values of the UCI / scikit-learn copy.</summary>
public sealed class IrisTests
{
    private static float[] Row(Dataset d, int i) => d.Features.AsSpan().Slice(i * 4, 4).ToArray();

    [Fact]
    public void HasShapeNamesAndBalancedClasses()
    {
        var iris = Datasets.Iris();
        Assert.Equal("iris", iris.Name);
        Assert.Equal([150, 4], iris.Features.Shape);
        Assert.Equal([150], iris.Targets.Shape);
        Assert.Equal(["sepal_length", "sepal_width", "petal_length", "petal_width"], iris.FeatureNames);
        Assert.Equal(["setosa", "versicolor", "virginica"], iris.ClassNames!);
        Assert.True(iris.IsClassification);
        Assert.Equal(3, iris.NumClasses);
        Assert.Equal(3, iris.NumOutputs);
        var counts = new int[3];
        foreach (var y in iris.Targets.AsSpan()) counts[(int)y]++;
        Assert.Equal([50, 50, 50], counts);
    }

    [Theory]
    [InlineData(0, 5.1f, 3.5f, 1.4f, 0.2f, 0)]
    [InlineData(1, 4.9f, 3.0f, 1.4f, 0.2f, 0)]
    [InlineData(34, 4.9f, 3.1f, 1.5f, 0.2f, 0)]
    [InlineData(37, 4.9f, 3.6f, 1.4f, 0.1f, 0)]
    [InlineData(50, 7.0f, 3.2f, 4.7f, 1.4f, 1)]
    [InlineData(51, 6.4f, 3.2f, 4.5f, 1.5f, 1)]
    [InlineData(77, 6.7f, 3.0f, 5.0f, 1.7f, 1)]
    [InlineData(101, 5.8f, 2.7f, 5.1f, 1.9f, 2)]
    [InlineData(149, 5.9f, 3.0f, 5.1f, 1.8f, 2)]
    public void RowsMatchTheClassicData(int index, float a, float b, float c, float d, int label)
    {
        var iris = Datasets.Iris();
        Assert.Equal([a, b, c, d], Row(iris, index));
        Assert.Equal(label, iris.Targets[index]);
    }

    [Fact]
    public void ColumnMeansAndStdsMatchReference()
    {
        // numpy: load_iris().data.mean(0) and .std(0) (population).
        var s = Standardizer.Fit(Datasets.Iris().Features);
        double[] mean = [5.84333333, 3.05733333, 3.758, 1.19933333];
        double[] std = [0.82530129, 0.43441097, 1.75940407, 0.75969263];
        for (int j = 0; j < 4; j++)
        {
            Assert.Equal(mean[j], s.Mean[j], 5);
            Assert.Equal(std[j], s.Std[j], 5);
        }
    }

    [Fact]
    public void EachCallReturnsIndependentStorage()
    {
        var a = Datasets.Iris();
        a.Features.AsSpan()[0] = 99f;
        Assert.Equal(5.1f, Datasets.Iris().Features[0, 0]);
    }
}
