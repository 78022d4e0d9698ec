namespace Backprop.Tests.Autograd;

/// <summary>The circuit of seed 004: f(x,y,z) = (x+y)·z and the add, mul and max gates.</summary>
public sealed class GateTests
{
    [Fact]
    public void SeedCircuitGivesValueAndPartials()
    {
        var x = Tensor.Scalar(-2f).RequireGrad();
        var y = Tensor.Scalar(5f).RequireGrad();
        var z = Tensor.Scalar(-4f).RequireGrad();
        var q = (x + y).RetainGrad();
        var f = q * z;
        f.Backward();
        Assert.Equal(-12f, f.Item());
        Assert.Equal(-4f, x.Grad!.Item());
        Assert.Equal(-4f, y.Grad!.Item());
        Assert.Equal(3f, z.Grad!.Item());
        Assert.Equal(-4f, q.Grad!.Item());
    }

    [Fact]
    public void AddGateDistributesTheSameGradientToBothInputs()
    {
        var a = Tensor.Scalar(1.5f).RequireGrad();
        var b = Tensor.Scalar(-7f).RequireGrad();
        ((a + b) * 3f).Backward();
        Assert.Equal(3f, a.Grad!.Item());
        Assert.Equal(3f, b.Grad!.Item());
    }

    [Fact]
    public void MulGateSwapsItsInputs()
    {
        var a = Tensor.Scalar(2f).RequireGrad();
        var b = Tensor.Scalar(-3f).RequireGrad();
        (a * b).Backward();
        Assert.Equal(-3f, a.Grad!.Item());
        Assert.Equal(2f, b.Grad!.Item());
    }

    [Fact]
    public void MaxGateRoutesTheGradientToTheLargerInput()
    {
        var a = Tensor.Scalar(4f).RequireGrad();
        var b = Tensor.Scalar(9f).RequireGrad();
        (Tensor.Maximum(a, b) * 2f).Backward();
        Assert.Equal(0f, a.Grad!.Item());
        Assert.Equal(2f, b.Grad!.Item());
    }

    [Fact]
    public void GradientsAccumulateAcrossBackwardCallsUntilZeroed()
    {
        var w = Tensor.Scalar(3f).RequireGrad();
        (w * w).Backward();
        (w * w).Backward();
        Assert.Equal(12f, w.Grad!.Item());
        w.ZeroGrad();
        Assert.Null(w.Grad);
    }

    [Fact]
    public void NoGradScopeRecordsNothing()
    {
        var w = Tensor.Scalar(3f).RequireGrad();
        Tensor r;
        using (GradMode.NoGrad()) r = w * 2f;
        Assert.False(r.RequiresGrad);
        Assert.True(r.IsLeaf);
        Assert.Throws<InvalidOperationException>(() => r.Backward());
    }
}
