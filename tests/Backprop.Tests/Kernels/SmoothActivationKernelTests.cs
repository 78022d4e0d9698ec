using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>
/// The float SiLU, tanh-GELU and exact-GELU kernels (and the e^x they share) against the double formulas over the whole float
/// range that matters, tails included; <see cref="KernelTwinTests"/> checks their vector paths against these scalar
/// twins bit for bit, and the PyTorch reference tests check the ops built on them.
/// </summary>
public sealed class SmoothActivationKernelTests
{
    // −100..100 in steps of 1/64, and the values near the clamps of e^x.
    private static readonly float[] Xs = [.. Enumerable.Range(-6400, 12801).Select(i => i / 64f), 88.37f, 88.38f, -87.33f, -87.34f, 1e-20f, -1e-20f];

    // In double, with 1 − σ(z) written as σ(−z) and ½(1 + tanh u) as σ(2u), so the references keep their digits in both tails.
    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    private const double C = 0.7978845608028654, K = 0.044715;   // √(2/π) and the cubic's weight

    private static double GeluTanh(double x) => x * Sigmoid(2 * C * (x + K * x * x * x));

    // ½(1 + tanh u) + ½x(1 − tanh²u)·u' with ½(1 + tanh u) = σ(2u) and ½(1 − tanh²u) = 2σ(2u)σ(−2u).
    private static double GeluTanhGrad(double x)
    {
        double z = 2 * C * (x + K * x * x * x);
        return Sigmoid(z) + x * 2 * Sigmoid(z) * Sigmoid(-z) * C * (1 + 3 * K * x * x);
    }

    // Φ(x) = ½·erfc(−x/√2) in double to about 1e-14 (erfc(z) = 1 − erf by its Taylor series below 2.5, the continued
    // fraction e^(−z²)/√π · 1/(z + ½/(z + 1/(z + 3/2/(z + ...)))) above), so both tails keep their digits.
    private static double NormalCdf(double x) => x < 0 ? 0.5 * Erfc(-x / Math.Sqrt(2)) : 1 - 0.5 * Erfc(x / Math.Sqrt(2));

    private static double Erfc(double z)
    {
        if (z < 2.5)
        {
            double term = z, sum = z, z2 = z * z;
            for (int n = 1; n < 80 && Math.Abs(term) > 1e-17 * Math.Abs(sum); n++)
            {
                term *= -z2 / n;
                sum += term / (2 * n + 1);
            }
            return 1 - 2 / Math.Sqrt(Math.PI) * sum;
        }
        double f = z;
        for (int k = 60; k >= 1; k--) f = z + k / 2.0 / f;
        return Math.Exp(-z * z) / Math.Sqrt(Math.PI) / f;
    }

    private static double Density(double x) => Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);

    // The worst of |f − ref| / allowed(x, ref) over Xs (≤ 1 passes).
    private static (double Ratio, float At) Worst(Func<float, float> f, Func<double, double> reference, Func<double, double, double> allowed)
    {
        (double Ratio, float At) worst = (0, 0);
        foreach (float x in Xs)
        {
            double r = reference(x), got = f(x);
            if (r == 0 && got == 0) continue;
            double ratio = Math.Abs(got - r) / allowed(x, r);
            if (!(ratio <= worst.Ratio)) worst = (ratio, x);
        }
        return worst;
    }

    // A value: 1e-6 relative, and below 1e-28 in absolute terms (the values e^x's flush to 0 under −87.3 loses are
    // |x|·e^x < 1e-36). A gradient: 1e-6 relative plus 1e-7 absolute, since near its zero crossing the terms it is
    // the difference of are of order 1, each rounded to float.
    private static double Value(double x, double r) => 1e-6 * Math.Abs(r) + 1e-28;

    private static double Gradient(double x, double r) => 1e-6 * Math.Abs(r) + 1e-7;

    [Fact]
    public void ExpIsWithinAFewUlpsAndClampsAsDocumented()
    {
        double worst = 0;
        foreach (float x in Xs)
            if (x is > -87.33f and < 88.37f) worst = Math.Max(worst, Math.Abs(FloatExp.Invoke(x) - Math.Exp(x)) / Math.Exp(x));
        Assert.True(worst < 3e-7, $"worst relative error {worst:E2}");
        Assert.Equal(float.PositiveInfinity, FloatExp.Invoke(88.38f));
        Assert.Equal(0f, FloatExp.Invoke(-87.34f));
        Assert.True(float.IsNaN(FloatExp.Invoke(float.NaN)));
        Assert.Equal(1f, FloatExp.Invoke(0f));
    }

    [Fact]
    public void SiluAndItsGradientMatchTheDoubleFormulas()
    {
        var forward = Worst(SiluOperator.Invoke, x => x * Sigmoid(x), Value);
        var backward = Worst(x => SiluBackwardOperator.Invoke(1f, x), x => Sigmoid(x) * (1 + x * Sigmoid(-x)), Gradient);
        Assert.True(forward.Ratio <= 1, $"forward: {forward.Ratio:F2} × the tolerance at x = {forward.At}");
        Assert.True(backward.Ratio <= 1, $"backward: {backward.Ratio:F2} × the tolerance at x = {backward.At}");
        Assert.Equal(-1.5f * SiluBackwardOperator.Invoke(1f, 3f), SiluBackwardOperator.Invoke(-1.5f, 3f));
    }

    [Fact]
    public void TanhGeluAndItsGradientMatchTheDoubleFormulas()
    {
        // z = 2u carries float rounding of about ε·|z| (ε = 6e-8; 2e-7·|z| is allowed), which e^z turns into relative error in the far left tail
        // (|z| = 51 at x = −8): allowed there, where PyTorch's float ½x(1 + tanh u) has already cancelled to 0.
        var forward = Worst(GeluTanhOperator.Invoke, GeluTanh, (x, r) => Value(x, r) + 2e-7 * Math.Abs(2 * C * (x + K * x * x * x) * r));
        var backward = Worst(x => GeluTanhBackwardOperator.Invoke(1f, x), GeluTanhGrad, (x, r) => Gradient(x, r) + 2e-7 * Math.Abs(2 * C * (x + K * x * x * x) * r));
        Assert.True(forward.Ratio <= 1, $"forward: {forward.Ratio:F2} × the tolerance at x = {forward.At}");
        Assert.True(backward.Ratio <= 1, $"backward: {backward.Ratio:F2} × the tolerance at x = {backward.At}");
    }

    [Fact]
    public void ExactGeluAndItsGradientMatchTheDoubleFormulas()
    {
        // erfc's fit is within 1.2e-7 relative; −x²/2 carries float rounding of about 6e-8·x²/2 (1e-7·x²/2 is allowed),
        // which e^(·) turns into relative error in the far left tail (x = −10: 3e-6 of a value of 8e-23).
        var forward = Worst(GeluOperator.Invoke, x => x * NormalCdf(x), (x, r) => Value(x, r) + 1e-7 * 0.5 * x * x * Math.Abs(r));
        var backward = Worst(x => GeluBackwardOperator.Invoke(1f, x), x => NormalCdf(x) + x * Density(x),
            (x, r) => Gradient(x, r) + 1e-7 * 0.5 * x * x * Math.Abs(r));
        Assert.True(forward.Ratio <= 1, $"forward: {forward.Ratio:F2} × the tolerance at x = {forward.At}");
        Assert.True(backward.Ratio <= 1, $"backward: {backward.Ratio:F2} × the tolerance at x = {backward.At}");
        Assert.Equal(0f, GeluOperator.Invoke(0f));
        Assert.Equal(0.5f, GeluBackwardOperator.Invoke(1f, 0f));
        Assert.Equal(float.PositiveInfinity, GeluOperator.Invoke(float.PositiveInfinity));
        Assert.True(float.IsNaN(GeluOperator.Invoke(float.NaN)));
        Assert.Equal(-1.5f * GeluBackwardOperator.Invoke(1f, -0.7f), GeluBackwardOperator.Invoke(-1.5f, -0.7f));
    }
}
