namespace Backprop.Kernels;

/// <summary>
/// Φ(x), the standard normal CDF, fast and to double precision (about 1e-15): Φ and φ are tabulated at the nodes
/// x₀ = i/16 on [−8, 8] (by <see cref="Tensor.NormalCdf"/>'s series), and Φ(x) for the nearest node is its Taylor
/// sum to degree 7 in δ = x − x₀ (|δ| ≤ 1/32):
/// Φ(x₀ + δ) = Φ(x₀) + φ(x₀)·Σ_{k=1..7} (−1)^(k−1)·He_{k−1}(x₀)·δᵏ/k!, since Φ⁽ᵏ⁾ = (−1)^(k−1)·He_{k−1}·φ with
/// the Hermite polynomials He₀ = 1, He₁ = x, He_{n+1} = x·He_n − n·He_{n−1}. The remainder is below
/// |δ|⁸/8!·max|He₇·φ| ≈ 1e-15. Outside [−8, 8] it is <see cref="Tensor.NormalCdf"/> itself. Exact GELU (x·Φ(x))
/// spends its time here: the series behind NormalCdf takes up to 60 terms, this takes seven.
/// </summary>
internal static class NormalCdfTable
{
    private const int PerUnit = 16;
    private const double Range = 8;
    private const int Nodes = (int)(2 * Range * PerUnit) + 1;

    private static readonly double[] Cdf = Tabulate(x => Tensor.NormalCdf(x));
    private static readonly double[] Density = Tabulate(x => Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI));

    /// <summary>Φ(x) for any x.</summary>
    public static double Phi(double x)
    {
        if (!(Math.Abs(x) <= Range)) return Tensor.NormalCdf(x);   // the tails, and NaN
        int i = (int)Math.Round((x + Range) * PerUnit);
        double x0 = i / (double)PerUnit - Range, delta = x - x0;
        // Σ_{k=1..7} (−1)^(k−1)·He_{k−1}(x₀)·δᵏ/k!, the Hermite values by their recurrence.
        double hePrev = 0, he = 1, term = 1, sum = 0;
        for (int k = 1; k <= 7; k++)
        {
            term *= delta / k;                       // δᵏ/k!
            sum += ((k & 1) == 1 ? he : -he) * term;   // he = He_{k−1}(x₀)
            double next = x0 * he - (k - 1) * hePrev;
            hePrev = he;
            he = next;
        }
        return Cdf[i] + Density[i] * sum;
    }

    private static double[] Tabulate(Func<double, double> f)
    {
        var table = new double[Nodes];
        for (int i = 0; i < Nodes; i++) table[i] = f(i / (double)PerUnit - Range);
        return table;
    }
}
