using Backprop.Nn;
using Backprop.Reporting;

namespace Backprop.Tests.Reporting;

public sealed class MetricsTests
{
    [Fact]
    public void RegressionMetricsMatchHandComputedValues()
    {
        // errors 0, 0, 0, 1 → MSE 0.25, MAE 0.25; ȳ = 2.5, Σ(y − ȳ)² = 5 → R² = 1 − 1/5.
        var m = Assert.Single(RegressionMetrics.Compute([1, 2, 3, 5], [1, 2, 3, 4], columns: 1));
        Assert.Equal(new RegressionMetrics("target", 0.25, 0.25, 0.8), m with { R2 = Math.Round(m.R2, 12) });
        Assert.Equal(0.5, m.RootMeanSquaredError);
    }

    [Fact]
    public void RegressionMetricsArePerColumn()
    {
        // Column 0 exact; column 1 errors +2, −2 around targets 0, 4 (ȳ = 2, Σ(y − ȳ)² = 8 → R² = 1 − 8/8 = 0).
        var m = RegressionMetrics.Compute([1, 2, 3, 2], [1, 0, 3, 4], columns: 2, names: ["a", "b"]);
        Assert.Equal(new RegressionMetrics("a", 0, 0, 1), m[0]);
        Assert.Equal(new RegressionMetrics("b", 4, 2, 0), m[1]);
        Assert.True(double.IsNaN(RegressionMetrics.Compute([1, 2], [3, 3], 1)[0].R2));  // constant target
    }

    [Fact]
    public void ProbabilitiesFollowTheLoss()
    {
        var logits = Tensor.FromArray([0f, MathF.Log(3f)], 1, 2);
        Assert.Equal([0.25f, 0.75f], ClassProbabilities.FromOutputs(logits, Losses.CrossEntropy).ToArray(), (a, b) => Math.Abs(a - b) < 1e-6f);
        Assert.Equal([0f, MathF.Log(3f)], ClassProbabilities.FromOutputs(logits, Losses.MSE).ToArray());  // scores, unchanged

        var single = Tensor.FromArray([0f, MathF.Log(3f)], 2, 1);
        var p = ClassProbabilities.FromOutputs(single, Losses.BinaryCrossEntropyWithLogits);
        Assert.Equal([2, 2], p.Shape);
        Assert.Equal([0.5f, 0.5f, 0.25f, 0.75f], p.ToArray(), (a, b) => Math.Abs(a - b) < 1e-6f);
        var clamped = ClassProbabilities.FromOutputs(Tensor.FromArray([1.5f, 0.2f], 2, 1), Losses.BinaryCrossEntropy);
        Assert.Equal([0f, 1f, 0.8f, 0.2f], clamped.ToArray(), (a, b) => Math.Abs(a - b) < 1e-6f);
    }
}
