using Backprop.Nn;

namespace Backprop.Tests.Nn;

/// <summary>Loss values computed by hand; gradients are covered by the reference and finite-difference suites.</summary>
public sealed class LossTests
{
    [Fact]
    public void MseAndTheSeedsHalfForm()
    {
        var p = Tensor.FromArray([0.5f, 1f, 2f, 0f], 2, 2);
        var y = Tensor.FromArray([0f, 1f, 1f, 1f], 2, 2);
        Assert.Equal((0.25f + 0 + 1 + 1) / 4, Losses.MSE.Compute(p, y).Item(), 6);
        Assert.Equal((0.25f + 0 + 1 + 1) / 8, Losses.HalfMSE.Compute(p, y).Item(), 6);
    }

    [Fact]
    public void HalfMseGradientIsErrorOverN()
    {
        var p = Tensor.FromArray([0.62f, 0.38f, 0.64f], 1, 3).RequireGrad();
        var y = Tensor.FromArray([1f, 0f, 0f], 1, 3);
        Losses.HalfMSE.Compute(p, y).Backward();
        var g = p.Grad!.ToArray();
        Assert.Equal((0.62f - 1f) / 3, g[0], 6);
        Assert.Equal(0.38f / 3, g[1], 6);
    }

    [Fact]
    public void CrossEntropyWithIndicesEqualsOneHot()
    {
        var z = Tensor.FromArray([2f, 1f, 0.1f, 0f, 0f, 3f], 2, 3);
        var byIndex = Losses.CrossEntropy.Compute(z, Tensor.FromArray([0f, 2f])).Item();
        var byOneHot = Losses.CrossEntropy.Compute(z, Tensor.FromArray([1f, 0f, 0f, 0f, 0f, 1f], 2, 3)).Item();
        double row1 = -(2 - Math.Log(Math.Exp(2) + Math.Exp(1) + Math.Exp(0.1)));
        double row2 = -(3 - Math.Log(2 + Math.Exp(3)));
        Assert.Equal((row1 + row2) / 2, byIndex, 5);
        Assert.Equal(byIndex, byOneHot, 6);
    }

    [Fact]
    public void CrossEntropyIsStableForHugeLogits()
    {
        var loss = Losses.CrossEntropy.Compute(Tensor.FromArray([1000f, -1000f], 1, 2), Tensor.FromArray([1f])).Item();
        Assert.Equal(2000f, loss, 2);
    }

    [Fact]
    public void BinaryCrossEntropyMatchesSeedFormula()
    {
        var p = Tensor.FromArray([0.9f, 0.2f]);
        var y = Tensor.FromArray([1f, 0f]);
        double expected = -(Math.Log(0.9) + Math.Log(0.8)) / 2;
        Assert.Equal(expected, Losses.BinaryCrossEntropy.Compute(p, y).Item(), 5);
        Assert.Equal(100f, Losses.BinaryCrossEntropy.Compute(Tensor.FromArray([0f]), Tensor.FromArray([1f])).Item(), 3);
    }

    [Fact]
    public void BceWithLogitsHasTheRightSlopeAtZero()
    {
        var z = Tensor.FromArray([0f, 0f]).RequireGrad();
        var loss = Losses.BinaryCrossEntropyWithLogits.Compute(z, Tensor.FromArray([1f, 0f]));
        Assert.Equal(MathF.Log(2), loss.Item(), 6);
        loss.Backward();
        Assert.Equal([-0.25f, 0.25f], z.Grad!.ToArray());   // (σ(0) − y)/n
    }

    [Fact]
    public void ShapeErrorsNameBothShapes()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => Losses.MSE.Compute(Tensor.Zeros(4, 1), Tensor.Zeros(4)));
        Assert.Contains("[4,1]", e.Message);
        Assert.Contains("[4]", e.Message);
        var ce = Assert.Throws<ShapeMismatchException>(() => Losses.CrossEntropy.Compute(Tensor.Zeros(16, 3), Tensor.Zeros(16, 4)));
        Assert.Contains("[16,4]", ce.Message);
        var bad = Assert.Throws<ArgumentException>(() => Losses.CrossEntropy.Compute(Tensor.Zeros(2, 3), Tensor.FromArray([0f, 3f])));
        Assert.Contains("0..2", bad.Message);
    }
}
