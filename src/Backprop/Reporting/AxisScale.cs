using System.Globalization;

namespace Backprop.Reporting;

/// <summary>
/// A chart axis: a range [<see cref="Min"/>, <see cref="Max"/>] that encloses the data and starts and ends on a tick,
/// with ticks every <see cref="Step"/>, a "nice" number 1, 2 or 5 × 10^k (Heckbert, Graphics Gems, 1990).
/// </summary>
/// <param name="Min">The axis start, a multiple of <paramref name="Step"/> at or below the smallest value.</param>
/// <param name="Max">The axis end, a multiple of <paramref name="Step"/> at or above the largest value.</param>
/// <param name="Step">The distance between ticks.</param>
public sealed record AxisScale(double Min, double Max, double Step)
{
    /// <summary>
    /// The axis for data in [<paramref name="min"/>, <paramref name="max"/>] with about <paramref name="maxTicks"/>
    /// ticks. <paramref name="integer"/> keeps the step a whole number (epochs). An empty range (min = max) is widened
    /// by half its magnitude (or by 0.5 around 0) on each side, so a single point sits mid-axis.
    /// </summary>
    public static AxisScale Nice(double min, double max, int maxTicks = 6, bool integer = false)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max) || min > max)
            throw new ArgumentException($"AxisScale.Nice expected finite min <= max but got [{min}, {max}].");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTicks, 2);
        if (min == max)
        {
            double half = min == 0 ? 0.5 : Math.Abs(min) / 2;
            (min, max) = (min - half, max + half);
        }
        // step = nice(nice(range) / (ticks − 1)): the rounded range split into at most maxTicks − 1 intervals.
        double step = NiceNumber(NiceNumber(max - min, round: false) / (maxTicks - 1), round: true);
        if (integer) step = Math.Max(1, Math.Round(step));
        int digits = Decimals(step);
        double lo = Math.Round(Math.Floor(min / step + 1e-9) * step, digits);
        double hi = Math.Round(Math.Ceiling(max / step - 1e-9) * step, digits);
        return new AxisScale(lo, hi, step);
    }

    /// <summary>The tick values Min, Min + Step, ..., Max, rounded to the step's decimals (no 0.30000000000000004).</summary>
    public IReadOnlyList<double> Ticks
    {
        get
        {
            int count = (int)Math.Round((Max - Min) / Step) + 1, digits = Decimals(Step);
            var ticks = new double[count];
            for (int i = 0; i < count; i++) ticks[i] = Math.Round(Min + i * Step, digits);
            return ticks;
        }
    }

    /// <summary>A tick label with as many decimals as the step needs: 0.2 → "0.4", 20 → "40", 0.05 → "0.15".</summary>
    public string Format(double value) => value.ToString("F" + Decimals(Step), CultureInfo.InvariantCulture);

    /// <summary>Where <paramref name="value"/> falls on the axis: 0 at Min, 1 at Max.</summary>
    public double Fraction(double value) => (value - Min) / (Max - Min);

    // The nice number near x: 1, 2, 5 or 10 × 10^⌊log10 x⌋; rounded to the nearest when round, else the next above.
    private static double NiceNumber(double x, bool round)
    {
        double exponent = Math.Floor(Math.Log10(x));
        double power = Math.Pow(10, exponent);
        double f = x / power;  // 1 ≤ f < 10
        double nice = round
            ? f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10
            : f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
        return nice * power;
    }

    // Decimals needed to write multiples of step exactly: 0.2 → 1, 0.05 → 2, 5 → 0.
    private static int Decimals(double step) => Math.Max(0, (int)-Math.Floor(Math.Log10(step) + 1e-9));
}
