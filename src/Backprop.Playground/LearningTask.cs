using Backprop.Nn;

namespace Backprop.Playground;

/// <summary>
/// What the network learns from the labels, which fixes its output layer and its loss:
/// <list type="bullet">
/// <item><b>binary</b> (two classes, labels ±1): one tanh output, <c>E = 1/(2N)·Σ(O_out − Y)²</c>, as TensorFlow
/// Playground and the seeds;</item>
/// <item><b>classes</b> (K ≥ 3 classes, labels 0..K−1): K outputs, softmax cross-entropy on them (the softmax is
/// inside the loss; the heatmaps show its probabilities);</item>
/// <item><b>regression</b> (a continuous target): one linear output, <c>E = 1/(2N)·Σ(O_out − Y)²</c>.</item>
/// </list>
/// </summary>
internal sealed class LearningTask
{
    private LearningTask(string kind, IReadOnlyList<string> classNames)
    {
        Kind = kind;
        ClassNames = classNames;
    }

    public static LearningTask Binary { get; } = new("binary", ["−1", "+1"]);
    public static LearningTask Regression { get; } = new("regression", []);

    /// <summary>Classification over <paramref name="names"/>: binary for two, softmax for three or more.</summary>
    public static LearningTask Classes(IReadOnlyList<string> names) =>
        names.Count == 2 ? new LearningTask("binary", names) : new LearningTask("classes", names);

    /// <summary>binary, classes or regression.</summary>
    public string Kind { get; }

    /// <summary>The class names of a classification (binary: label −1 first, then +1); empty for regression.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Width of the output layer.</summary>
    public int Outputs => Kind == "classes" ? ClassNames.Count : 1;

    public bool IsClassification => Kind != "regression";

    /// <summary>The activation after the output layer, if any (softmax is part of the cross-entropy loss instead).</summary>
    public Activation? OutputActivation() => Kind == "binary" ? new Tanh() : null;

    /// <summary>Targets for the loss: [rows, 1] of ±1 or of the target (binary, regression), [rows] class indices (classes).</summary>
    public Tensor Targets(float[] labels) =>
        Kind == "classes" ? Tensor.FromArray(labels, labels.Length) : Tensor.FromArray(labels, labels.Length, 1);

    /// <summary>The loss of <paramref name="output"/> [rows, Outputs] against <see cref="Targets"/>.</summary>
    public Tensor Loss(Tensor output, Tensor targets) =>
        Kind == "classes" ? Losses.CrossEntropy.Compute(output, targets) : Losses.HalfMSE.Compute(output, targets);

    /// <summary>The class each row of <paramref name="output"/> [rows, Outputs] predicts, as its label value (±1 or 0..K−1).</summary>
    public float Predicted(ReadOnlySpan<float> output, int row)
    {
        if (Kind == "binary") return output[row] >= 0 ? 1 : -1;
        int k = Outputs, best = 0;
        for (int c = 1; c < k; c++) if (output[row * k + c] > output[row * k + best]) best = c;
        return best;
    }

    /// <summary>
    /// Why step mode cannot explain this task, or null when it can: a trace explains the seeds' loss
    /// <c>E = 1/(2N)·Σ(O_out − Y)²</c>, which the binary and regression tasks train, not cross-entropy.
    /// </summary>
    public string? Unexplained => Kind == "classes"
        ? $"this session has {ClassNames.Count} classes and trains softmax cross-entropy; step mode explains the seeds' loss E = 1/(2N)·Σ(O_out − Y)², which two-class and regression data train"
        : null;
}
