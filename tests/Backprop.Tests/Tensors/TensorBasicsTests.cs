namespace Backprop.Tests.Tensors;

public sealed class TensorBasicsTests
{
    [Fact]
    public void PrintsLikeTheSeedsWithoutNegativeZero()
    {
        var t = Tensor.FromArray([0.81f, 0.805f, -0.00001f, -0.5f], 2, 2);
        Assert.Equal("[[0.81 0.81]\n [0.00 -0.50]]", t.ToString(2));
        Assert.Equal("-12.000", Tensor.Scalar(-12f).ToString(3));
        Assert.Equal("0.0", Tensor.Scalar(-0f).ToString(1));
    }

    [Fact]
    public void OneHotPutsAOneInEachLabelsColumn()
    {
        var t = Tensor.OneHot(Tensor.FromArray([2f, 0f]), 3);
        Assert.Equal([2, 3], t.Shape);
        Assert.Equal([0f, 0f, 1f, 1f, 0f, 0f], t.ToArray());
        Assert.Contains("0..2", Assert.Throws<ArgumentException>(() => Tensor.OneHot(Tensor.FromArray([3f]), 3)).Message);
        Assert.Throws<ArgumentException>(() => Tensor.OneHot(Tensor.FromArray([0.5f]), 3));
    }
}
