using System.Numerics.Tensors;

namespace Backprop.Data;

/// <summary>
/// Per-feature standardization z = (x − μ) / σ, with μ and σ fitted on training data only and then applied
/// unchanged to validation, test and prediction inputs (fitting on the test set would leak it into training).
/// </summary>
public sealed class Standardizer
{
    private readonly float[] mean;
    private readonly float[] std;

    /// <summary>
    /// Creates a standardizer from saved statistics, for example those stored with a model.
    /// </summary>
    /// <param name="mean">Per-feature means μ, length F.</param>
    /// <param name="std">Per-feature standard deviations σ, length F, each finite and positive.</param>
    public Standardizer(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length != std.Length)
            throw new ArgumentException(
                $"Standardizer: expected as many standard deviations as means but got {mean.Length} means and {std.Length} standard deviations.",
                nameof(std));
        for (int j = 0; j < mean.Length; j++)
        {
            if (!float.IsFinite(mean[j]))
                throw new ArgumentException($"Standardizer: mean {j} must be finite but is {mean[j]}.", nameof(mean));
            if (!(std[j] > 0f) || !float.IsFinite(std[j]))
                throw new ArgumentException($"Standardizer: standard deviation {j} must be finite and positive but is {std[j]}.", nameof(std));
        }
        this.mean = (float[])mean.Clone();
        this.std = (float[])std.Clone();
    }

    /// <summary>
    /// Fits per-column mean and population standard deviation (divide by N) to <paramref name="features"/>
    /// <c>[N, F]</c>. A constant column has σ = 0, which is replaced by 1 so that it maps to 0 rather than NaN.
    /// </summary>
    public static Standardizer Fit(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Rank != 2 || features.dims[0] == 0)
            throw new ShapeMismatchException(
                $"Standardizer.Fit: expected features [N, F] with N ≥ 1 but got {Shapes.Format(features.dims)}.");
        int n = features.dims[0], f = features.dims[1];
        var x = features.data;
        // Two passes in double: the mean first, then squared deviations from it (stable, unlike E[x²] − E[x]²).
        var sum = new double[f];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < f; j++) sum[j] += x[i * f + j];
        var mu = new double[f];
        for (int j = 0; j < f; j++) mu[j] = sum[j] / n;
        var sq = new double[f];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < f; j++)
            {
                double d = x[i * f + j] - mu[j];
                sq[j] += d * d;
            }
        var mean = new float[f];
        var std = new float[f];
        for (int j = 0; j < f; j++)
        {
            mean[j] = (float)mu[j];
            float s = (float)Math.Sqrt(sq[j] / n);
            std[j] = s > 0f ? s : 1f;
        }
        return new Standardizer(mean, std);
    }

    /// <summary>Number of features F this standardizer expects.</summary>
    public int NumFeatures => mean.Length;

    /// <summary>A copy of the per-feature means μ.</summary>
    public float[] Mean => (float[])mean.Clone();

    /// <summary>A copy of the per-feature standard deviations σ (constant columns hold 1).</summary>
    public float[] Std => (float[])std.Clone();

    /// <summary>Returns (x − μ) / σ for features <c>[N, F]</c> as a new tensor; the input is unchanged.</summary>
    public Tensor Transform(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Rank != 2 || features.dims[1] != mean.Length)
            throw new ShapeMismatchException(
                $"Standardizer: expected features [N, {mean.Length}] but got {Shapes.Format(features.dims)}.");
        int n = features.dims[0], f = mean.Length;
        var result = Tensor.Zeros(n, f);
        for (int i = 0; i < n; i++)
        {
            var row = result.data.AsSpan(i * f, f);
            TensorPrimitives.Subtract(features.data.AsSpan(i * f, f), mean, row);
            TensorPrimitives.Divide(row, std, row);
        }
        return result;
    }

    /// <summary>The dataset with standardized features and the same targets.</summary>
    public Dataset Transform(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return data.WithFeatures(Transform(data.Features));
    }
}
