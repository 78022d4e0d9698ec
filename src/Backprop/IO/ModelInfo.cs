namespace Backprop.IO;

/// <summary>
/// What a saved model needs besides its weights to be used on new data: the names of its input columns, its class
/// labels, the standardization fitted on the training data, and the loss it was trained with.
/// </summary>
public sealed record ModelInfo
{
    /// <summary>Input column names, in order (empty when unknown).</summary>
    public IReadOnlyList<string> FeatureNames { get; init; } = [];

    /// <summary>Class labels by index, or null for regression.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>Name of the target column (used by <c>predict</c> and <c>evaluate</c> on CSV files).</summary>
    public string? TargetName { get; init; }

    /// <summary>Per-feature mean subtracted before the model (null: no standardization).</summary>
    public float[]? InputMean { get; init; }

    /// <summary>Per-feature standard deviation divided by before the model.</summary>
    public float[]? InputStd { get; init; }

    /// <summary>
    /// Regression: per-target mean μ the model was trained to predict around; outputs map back as z · σ + μ
    /// (null: the outputs are already in the target's units, as in files from before targets were standardized).
    /// </summary>
    public float[]? TargetMean { get; init; }

    /// <summary>Regression: per-target standard deviation σ that scales the model's outputs back to the target's units.</summary>
    public float[]? TargetStd { get; init; }

    /// <summary>The loss name the model was trained with (e.g. <c>cross_entropy</c>).</summary>
    public string? Loss { get; init; }

    /// <summary>The dataset name the model was trained on.</summary>
    public string? Dataset { get; init; }

    /// <summary>A language model's tokenizer (null for other models and for files from before text models).</summary>
    public Text.Tokenizer? Tokenizer { get; init; }
}
