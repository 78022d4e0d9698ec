namespace Backprop;

// More elementwise functions (PyTorch's sin, cos, log1p, expm1, rsqrt). Each computes in double and rounds once, so a
// float32 result is within one rounding of the exact value; the backward, below each forward, is g ⊙ f'(x).
public sealed partial class Tensor
{
    /// <summary>sin x: f'(x) = cos x.</summary>
    public Tensor Sin() => MapDouble(Math.Sin)
        .RecordUnary("sin", this, static (x, y, g, dx) => { for (int i = 0; i < dx.Length; i++) dx[i] = (float)(g[i] * Math.Cos(x[i])); });

    /// <summary>cos x: f'(x) = −sin x.</summary>
    public Tensor Cos() => MapDouble(Math.Cos)
        .RecordUnary("cos", this, static (x, y, g, dx) => { for (int i = 0; i < dx.Length; i++) dx[i] = (float)(-g[i] * Math.Sin(x[i])); });

    /// <summary>ln(1 + x), accurate for small x: f'(x) = 1/(1 + x).</summary>
    public Tensor Log1p() => MapDouble(Log1p)
        .RecordUnary("log1p", this, static (x, y, g, dx) => { for (int i = 0; i < dx.Length; i++) dx[i] = (float)(g[i] / (1.0 + x[i])); });

    /// <summary>eˣ − 1, accurate for small x: f'(x) = eˣ = y + 1.</summary>
    public Tensor Expm1() => MapDouble(Expm1)
        .RecordUnary("expm1", this, static (x, y, g, dx) => { for (int i = 0; i < dx.Length; i++) dx[i] = (float)(g[i] * Math.Exp(x[i])); });

    /// <summary>1/√x: f'(x) = −½ x^(−3/2) = −½ y³.</summary>
    public Tensor Rsqrt() => MapDouble(static x => 1.0 / Math.Sqrt(x))
        .RecordUnary("rsqrt", this, static (x, y, g, dx) =>
        {
            for (int i = 0; i < dx.Length; i++) { double r = 1.0 / Math.Sqrt(x[i]); dx[i] = (float)(-0.5 * g[i] * r * r * r); }
        });

    /// <summary>ln(1 + x) without the rounding of 1 + x: the ratio x/((1+x)−1) corrects it (Goldberg's trick).</summary>
    internal static double Log1p(double x)
    {
        double u = 1.0 + x;
        return u == 1.0 ? x : Math.Log(u) * x / (u - 1.0);
    }

    /// <summary>eˣ − 1: its Taylor series where eˣ − 1 would cancel, else in double, which has digits to spare.</summary>
    internal static double Expm1(double x) =>
        Math.Abs(x) < 1e-5 ? x + x * x / 2 + x * x * x / 6 : Math.Exp(x) - 1.0;

    /// <summary>Applies a double-precision function to every element, rounding each result to float once.</summary>
    private Tensor MapDouble(Func<double, double> f)
    {
        var r = Uninitialized(dims);
        for (int i = 0; i < data.Length; i++) r.data[i] = (float)f(data[i]);
        return r;
    }

    /// <summary><see cref="MapDouble(Func{double, double})"/> for a function of up to two constants, passed rather than captured.</summary>
    private Tensor MapDouble(Func<double, float, float, double> f, float a, float b = 0f)
    {
        var r = Uninitialized(dims);
        for (int i = 0; i < data.Length; i++) r.data[i] = (float)f(data[i], a, b);
        return r;
    }
}
