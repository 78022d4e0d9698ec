namespace Backprop.Tests.Tensors;

public sealed class FormattingTests
{
    [Fact]
    public void PrintsLikeTheSeedsWithoutNegativeZero()
    {
        var t = Tensor.FromArray([0.81f, 0.805f, -0.00001f, -0.5f], 2, 2);
        Assert.Equal("[[0.81 0.81]\n [0.00 -0.50]]", t.ToString(2));
        Assert.Equal("-12.000", Tensor.Scalar(-12f).ToString(3));
        Assert.Equal("0.0", Tensor.Scalar(-0f).ToString(1));
    }
}
