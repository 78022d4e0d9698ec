using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>The tabulated Φ behind exact GELU against the series it replaces, in the middle and the tails.</summary>
public sealed class NormalCdfTableTests
{
    [Fact]
    public void PhiEqualsTheSeriesToDoublePrecision()
    {
        double worstAbs = 0, worstRel = 0;
        for (double x = -12; x <= 12; x += 0.000731)
        {
            double table = NormalCdfTable.Phi(x), series = Tensor.NormalCdf(x);
            worstAbs = Math.Max(worstAbs, Math.Abs(table - series));
            worstRel = Math.Max(worstRel, Math.Abs(table - series) / series);
        }
        Assert.InRange(worstAbs, 0, 1e-14);
        Assert.InRange(worstRel, 0, 1e-9);
    }

    [Fact]
    public void NodesTailsAndNaNAreTheSeries()
    {
        foreach (double x in new[] { -8.0, -3.0, 0.0, 0.0625, 8.0, -8.01, 9.5, -30.0, double.PositiveInfinity, double.NegativeInfinity })
            Assert.Equal(Tensor.NormalCdf(x), NormalCdfTable.Phi(x), 15);
        Assert.True(double.IsNaN(NormalCdfTable.Phi(double.NaN)));
    }
}
