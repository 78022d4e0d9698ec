using Backprop.Explain;

namespace Backprop.Tests.Explain;

public sealed class GradCheckTests
{
    /// <summary>y = x² whose recorded backward returns factor·2x instead of 2x, optionally only at one element.</summary>
    private static Tensor WrongSquare(Tensor x, float factor, int onlyAt = -1)
    {
        Tensor y;
        using (GradMode.NoGrad()) y = x * x;
        return y.Record("wrong_square", [x], g =>
        {
            var dx = g * x * 2f;
            var d = dx.AsSpan();
            for (int i = 0; i < d.Length; i++) if (onlyAt < 0 || i == onlyAt) d[i] *= factor;
            x.AccumulateGrad(dx);
        });
    }

    [Fact]
    public void StandardSuitePassesEveryCase()
    {
        var outcomes = GradCheck.RunSuite();
        Assert.True(outcomes.Count >= 60, $"suite has only {outcomes.Count} cases");
        Assert.All(outcomes, o => Assert.True(o.Passed, $"{o.Name}: {o.Result} exceeds {o.Tolerance:E1}"));
        Assert.All(outcomes, o => Assert.InRange(o.Tolerance, 1e-4, 1e-2));
        Assert.Equal(outcomes.Count, outcomes.Select(o => o.Name).Distinct().Count());
    }

    [Fact]
    public void CorrectSquareHasOnlyRoundingError()
    {
        var x = Tensor.RandomNormal([3, 4], 5);
        var result = GradCheck.Check(t => t[0] * t[0], x);
        // x² has f‴ = 0, so central differences are exact up to float32 rounding of L over 2h.
        Assert.True(result.WorstRelativeError < 1e-4, result.ToString());
        Assert.Equal(12, result.ElementsChecked);
    }

    [Fact]
    public void GradientOffByTenPercentIsDetectedWithItsSize()
    {
        var x = Tensor.RandomUniform([3, 4], 6, 0.5f, 1.5f);
        var result = GradCheck.Check(t => WrongSquare(t[0], 1.1f), x);
        // |1.1a − a| / max(1.1a, a) = 0.1 / 1.1 for every element (all gradients are far above the floor).
        Assert.Equal(0.1 / 1.1, result.WorstRelativeError, 1e-3);
        Assert.False(new GradCheckOutcome("wrong", result, 1e-3).Passed);
    }

    [Fact]
    public void WrongElementIsLocated()
    {
        var a = Tensor.RandomNormal([2, 3], 7);
        var x = Tensor.RandomUniform([2, 3], 8, 0.5f, 1.5f);
        var result = GradCheck.Check(t => t[0] + WrongSquare(t[1], 2f, onlyAt: 5), a, x);
        Assert.Equal(1, result.InputIndex);
        Assert.Equal([1, 2], result.Index);
        Assert.Equal(0.5, result.WorstRelativeError, 1e-3);   // |2n − n| / 2n
        Assert.Equal(2 * result.Numeric, result.Analytic, 1e-3);
        Assert.Equal("input 1 [1,2]", result.Location);
    }

    [Fact]
    public void MissingGradientIsDetected()
    {
        var x = Tensor.RandomNormal([4], 9);
        var y = Tensor.RandomNormal([4], 10);
        Tensor DetachedProduct(Tensor[] t) => t[0] * t[1].Detach();   // ∂/∂y silently lost
        var result = GradCheck.Check(DetachedProduct, x, y);
        Assert.Equal(1.0, result.WorstRelativeError, 1e-9);
        Assert.Equal(1, result.InputIndex);
        Assert.Equal(0.0, result.Analytic);
    }

    [Fact]
    public void InputsAreRestoredAfterwards()
    {
        var x = Tensor.RandomNormal([2, 3], 11);
        var before = x.ToArray();
        var grad = Tensor.Ones(2, 3);
        x.Grad = grad;
        GradCheck.Check(t => t[0].Tanh(), x);
        Assert.Equal(before, x.ToArray());
        Assert.False(x.RequiresGrad);
        Assert.Same(grad, x.Grad);
    }

    [Fact]
    public void ParametersReadThroughAClosureAreChecked()
    {
        var w = Tensor.RandomNormal([3, 2], 12);
        var input = Tensor.RandomNormal([4, 3], 13);
        var result = GradCheck.Check(_ => input.MatMul(w).Sigmoid(), w);
        Assert.Equal(6, result.ElementsChecked);
        Assert.True(result.WorstRelativeError < 1e-3, result.ToString());
    }

    [Fact]
    public void RejectsNonLeafInputsAndNoGradScope()
    {
        var x = Tensor.RandomNormal([2], 14).RequireGrad();
        var e = Assert.Throws<ArgumentException>(() => GradCheck.Check(t => t[0], x * 2f));
        Assert.Contains("'mul'", e.Message);
        using (GradMode.NoGrad())
            Assert.Throws<InvalidOperationException>(() => GradCheck.Check(t => t[0] * t[0], Tensor.Ones(2)));
    }
}
