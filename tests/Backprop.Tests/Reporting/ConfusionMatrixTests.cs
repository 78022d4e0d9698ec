using Backprop.Reporting;

namespace Backprop.Tests.Reporting;

public sealed class ConfusionMatrixTests
{
    // Class 3 has no examples: its accuracy is undefined, not 0.
    private static readonly ConfusionMatrix Matrix = new([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 0, 2], numClasses: 4);

    [Fact]
    public void CountsPairsWithRowsTrueAndColumnsPredicted()
    {
        Assert.Equal(
            [[1, 1, 0, 0], [1, 2, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]],
            Matrix.ToRows());
        Assert.Equal(1, Matrix[1, 0]);
        Assert.Equal(1, Matrix[0, 1]);
        Assert.Equal(6, Matrix.Total);
        Assert.Equal(4, Matrix.Correct);
        Assert.Equal(4.0 / 6, Matrix.Accuracy);
    }

    [Fact]
    public void PerClassAccuracyIsDiagonalOverRowSum()
    {
        Assert.Equal([2, 3, 1, 0], Enumerable.Range(0, 4).Select(Matrix.Support));
        Assert.Equal(0.5, Matrix.ClassAccuracy(0));
        Assert.Equal(2.0 / 3, Matrix.ClassAccuracy(1));
        Assert.Equal(1.0, Matrix.ClassAccuracy(2));
        Assert.Null(Matrix.ClassAccuracy(3));
    }

    [Fact]
    public void EmptyInputHasNoAccuracy() => Assert.True(double.IsNaN(new ConfusionMatrix([], [], 2).Accuracy));

    [Fact]
    public void RejectsMismatchedLengthsAndUnknownClasses()
    {
        var e = Assert.Throws<ArgumentException>(() => new ConfusionMatrix([0, 1], [0], 2));
        Assert.Contains("2 true classes but 1 predictions", e.Message);
        e = Assert.Throws<ArgumentException>(() => new ConfusionMatrix([0, 2], [0, 1], 2));
        Assert.Contains("example 1 has true class 2 and prediction 1; expected both in 0..1", e.Message);
    }
}
