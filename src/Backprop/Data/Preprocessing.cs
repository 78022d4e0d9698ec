namespace Backprop.Data;

/// <summary>
/// Input and target scaling chosen by the data: images get one mean and standard deviation over all their pixels,
/// tables one per column; regression targets are standardized for training and mapped back for reporting.
/// </summary>
/// <remarks>
/// Standardizing each pixel on its own divides the always-black border pixels by a tiny σ, so a stray grey pixel
/// there becomes a huge input; one global (μ, σ) keeps the pixels' relative brightness, as torchvision's
/// <c>Normalize((0.2860,), (0.3530,))</c> does for Fashion-MNIST. Both kinds come back as a
/// <see cref="Standardizer"/> (the global one repeats its μ and σ in every column), so a saved model applies either
/// the same way.
/// </remarks>
public static class Preprocessing
{
    /// <summary>True when each example is an image: a sample shape of rank 3 (channels, height, width).</summary>
    public static bool IsImage(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return data.SampleShape.Count == 3;
    }

    /// <summary>
    /// Fits the input scaling on <paramref name="train"/>: one (μ, σ) over every value for images, per-column (μ, σ)
    /// otherwise. A constant input gets σ = 1.
    /// </summary>
    public static Standardizer FitInputs(Dataset train)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (!IsImage(train)) return Standardizer.Fit(train.Features);
        var x = train.Features.AsSpan();
        if (x.Length == 0)
            throw new ArgumentException($"Preprocessing: dataset '{train.Name}' has no values to fit a scaling to.", nameof(train));
        // Two passes in double over up to 47 million pixels: the mean, then squared deviations from it.
        double sum = 0;
        foreach (float v in x) sum += v;
        double mu = sum / x.Length, sq = 0;
        foreach (float v in x) sq += (v - mu) * (v - mu);
        float sigma = (float)Math.Sqrt(sq / x.Length);
        var mean = new float[train.NumFeatures];
        var std = new float[train.NumFeatures];
        Array.Fill(mean, (float)mu);
        Array.Fill(std, sigma > 0f ? sigma : 1f);
        return new Standardizer(mean, std);
    }

    /// <summary>Per-column (μ, σ) of a regression set's targets <c>[N, K]</c>.</summary>
    public static Standardizer FitTargets(Dataset train)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.IsClassification)
            throw new ArgumentException($"Preprocessing: dataset '{train.Name}' holds class labels; only regression targets are standardized.", nameof(train));
        return Standardizer.Fit(train.Targets);
    }

    /// <summary>The same rows with targets <c>(y − μ) / σ</c> (a copy of the targets; the features are shared).</summary>
    public static Dataset StandardizeTargets(Dataset data, Standardizer targets)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(targets);
        var scaled = new Dataset(data.Features, targets.Transform(data.Targets), data.FeatureNames, null, data.Name);
        return data.SampleShape.Count > 1 ? scaled.WithSampleShape([.. data.SampleShape]) : scaled;
    }

    /// <summary>
    /// Maps standardized outputs <c>[N, K]</c> back to the target's units, <c>z · σ + μ</c>, as a new tensor.
    /// </summary>
    public static Tensor Unstandardize(Tensor outputs, IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count != std.Count || outputs.Rank != 2 || outputs.Shape[1] != mean.Count)
            throw new ShapeMismatchException(
                $"Preprocessing: expected outputs [N, {mean.Count}] to map back with {mean.Count} means and {std.Count} standard deviations but got {Shapes.Format(outputs.dims)}.");
        int n = outputs.Shape[0], k = mean.Count;
        var z = outputs.AsSpan();
        var y = new float[n * k];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < k; j++) y[i * k + j] = z[i * k + j] * std[j] + mean[j];
        return Tensor.FromArray(y, n, k);
    }
}
