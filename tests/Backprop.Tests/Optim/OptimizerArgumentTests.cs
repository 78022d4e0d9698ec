using Backprop.Optim;

namespace Backprop.Tests.Optim;

/// <summary>Optimizers refuse settings outside their sane ranges, with messages that name the value on their own.</summary>
public sealed class OptimizerArgumentTests
{
    private static Tensor[] Params() => [Tensor.Zeros(3).RequireGrad()];

    [Theory]
    [InlineData(5f, "SGD momentum must be in [0, 1) but is 5; 0.9 is usual.")]
    [InlineData(1f, "SGD momentum must be in [0, 1) but is 1; 0.9 is usual.")]
    [InlineData(-0.1f, "SGD momentum must be in [0, 1) but is -0.1; 0.9 is usual.")]
    [InlineData(float.NaN, "SGD momentum must be in [0, 1) but is NaN; 0.9 is usual.")]
    public void SgdRefusesMomentumOutsideZeroToOne(float momentum, string message)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(Params(), 0.1f, momentum: momentum));
        Assert.Equal("momentum", e.ParamName);
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void SgdAcceptsMomentumJustBelowOne() => Assert.Equal(0.99f, new Sgd(Params(), 0.1f, momentum: 0.99f).Momentum);

    [Theory]
    [InlineData(1f, 0.999f, "beta1", "adam β₁ must be in [0, 1) but is 1; 0.9 is usual.")]
    [InlineData(0.9f, 1.5f, "beta2", "adam β₂ must be in [0, 1) but is 1.5; 0.999 is usual.")]
    [InlineData(float.NaN, 0.999f, "beta1", "adam β₁ must be in [0, 1) but is NaN; 0.9 is usual.")]
    public void AdamRefusesBetasOutsideZeroToOne(float beta1, float beta2, string param, string message)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(Params(), 1e-3f, beta1, beta2));
        Assert.Equal(param, e.ParamName);
        Assert.StartsWith(message, e.Message);
    }

    [Theory]
    [InlineData(0f, "the learning rate must be a positive finite number but is 0.")]
    [InlineData(-1f, "the learning rate must be a positive finite number but is -1.")]
    [InlineData(float.NaN, "the learning rate must be a positive finite number but is NaN.")]
    [InlineData(float.PositiveInfinity, "the learning rate must be a positive finite number but is Infinity.")]
    public void EveryOptimizerRefusesALearningRateThatIsNotPositiveAndFinite(float lr, string message)
    {
        Assert.StartsWith(message, Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(Params(), lr)).Message);
        Assert.StartsWith(message, Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(Params(), lr)).Message);
        Assert.StartsWith(message, Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(Params(), lr)).Message);
    }

    [Fact]
    public void WeightDecayMustBeFiniteAndNotNegative()
    {
        Assert.StartsWith("SGD weight decay must be a finite number ≥ 0 but is -0.5.",
            Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(Params(), 0.1f, weightDecay: -0.5f)).Message);
        Assert.StartsWith("adamw weight decay must be a finite number ≥ 0 but is Infinity.",
            Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(Params(), weightDecay: float.PositiveInfinity)).Message);
    }
}
