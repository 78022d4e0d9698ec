namespace Backprop.Reporting;

/// <summary>How far real-valued predictions are from their targets, for one target column.</summary>
/// <param name="Target">The column's name.</param>
/// <param name="MeanSquaredError">MSE = (1/N) Σ (ŷ − y)².</param>
/// <param name="MeanAbsoluteError">MAE = (1/N) Σ |ŷ − y|.</param>
/// <param name="R2">Coefficient of determination 1 − Σ(ŷ − y)² / Σ(y − ȳ)²; NaN when every target is the same.</param>
public sealed record RegressionMetrics(string Target, double MeanSquaredError, double MeanAbsoluteError, double R2)
{
    /// <summary>Root of the mean squared error, in the target's units.</summary>
    public double RootMeanSquaredError => Math.Sqrt(MeanSquaredError);

    /// <summary>
    /// The metrics of each column k of <paramref name="predictions"/> against <paramref name="targets"/>, both
    /// row-major [N, K], accumulated in double.
    /// </summary>
    public static RegressionMetrics[] Compute(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns,
        IReadOnlyList<string>? names = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        if (predictions.Length != targets.Length || targets.Length % columns != 0)
            throw new ArgumentException(
                $"RegressionMetrics: expected predictions and targets of the same shape [N, {columns}] but got {predictions.Length} and {targets.Length} values.");
        int n = targets.Length / columns;
        var result = new RegressionMetrics[columns];
        for (int k = 0; k < columns; k++)
        {
            double mean = 0;
            for (int i = 0; i < n; i++) mean += targets[i * columns + k];
            mean /= Math.Max(1, n);
            double squared = 0, absolute = 0, total = 0;
            for (int i = 0; i < n; i++)
            {
                double y = targets[i * columns + k], e = predictions[i * columns + k] - y;
                squared += e * e;
                absolute += Math.Abs(e);
                total += (y - mean) * (y - mean);
            }
            string name = names is not null && k < names.Count ? names[k] : columns == 1 ? "target" : "target " + k;
            result[k] = new RegressionMetrics(name, squared / Math.Max(1, n), absolute / Math.Max(1, n),
                total == 0 ? double.NaN : 1 - squared / total);
        }
        return result;
    }
}
