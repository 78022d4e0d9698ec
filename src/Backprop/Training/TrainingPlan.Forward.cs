using Backprop.Nn;

namespace Backprop.Training;

/// <remarks>
/// The forward slice of the same stages, for inference (<see cref="Predictor"/>): a plan built by
/// <see cref="TryCreateForward"/> runs the model in evaluation mode — dropout is the identity, batch norm normalises
/// with its running statistics and updates nothing — with no loss, so its output is the model's (a trailing softmax
/// included). It owns no backward buffers and no gradients, reads the live weights at every call and never writes to
/// the model, so plans over one model may run on many threads at once; one plan is not for two threads at once
/// (its stages' buffers are its scratch).
/// </remarks>
internal sealed partial class TrainingPlan
{
    private readonly bool forwardOnly;

    private TrainingPlan(Stage[] stages, int inFeatures, int maxBatch, int[] sampleShape)
    {
        this.stages = stages;
        forwardOnly = true;
        MaxBatch = maxBatch;
        InFeatures = inFeatures;
        OutputShape = sampleShape;
        input = new float[maxBatch * inFeatures];
        targets = [];
        labels = [];
    }

    /// <summary>Values per input row of a forward-only plan.</summary>
    public int InFeatures { get; }

    /// <summary>Values per output row (the last stage's width).</summary>
    public int OutFeatures => stages[^1].OutSize;

    /// <summary>The shape of one output of a forward-only plan: [F], or [C, H, W] for a model that ends on an image.</summary>
    public IReadOnlyList<int> OutputShape { get; } = [];

    /// <summary>
    /// True when the model starts with a <see cref="Reshape"/> (after any activations), which takes examples of any
    /// shape holding <see cref="InFeatures"/> values, e.g. [N, 1, 28, 28] as well as [N, 784].
    /// </summary>
    public bool TakesAnySampleShape { get; private init; }

    /// <summary>Floats of activation buffers the plan holds per row of its batch (its input and every stage's output).</summary>
    public int FloatsPerRow => InFeatures + stages.Sum(s => s.OutSize);

    /// <summary>
    /// Compiles the forward pass of <paramref name="model"/> in evaluation mode for batches of up to
    /// <paramref name="maxBatch"/> rows, or returns null (with the reason) when a layer is outside what the stages
    /// express or the input's shape cannot be known: the model must start, after any activations, with a Dense, a
    /// BatchNorm1d or a Reshape, or with an image layer (Conv2d, ConvTranspose2d, BatchNorm2d, max or average pooling) and a
    /// <paramref name="sampleShape"/> [C, H, W] that gives the size of one example.
    /// </summary>
    public static TrainingPlan? TryCreateForward(Module model, int maxBatch, IReadOnlyList<int>? sampleShape, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        if (InputOf(model, sampleShape) is not { } start)
        {
            reason = FirstShapedLayer(model) is { } first && first is not (Dense or BatchNorm1d or Reshape)
                ? $"{first} takes images of any size, and the size of one example ([C, H, W]) was not given"
                : $"the input width of {model} is not known until it runs (the compiled forward needs a Dense, BatchNorm1d or Reshape first)";
            return null;
        }
        var stages = Compile(model, start, maxBatch, new Gradients(), forwardOnly: true, out var outputShape, out reason);
        return stages is null ? null
            : new TrainingPlan(stages, start.Features, maxBatch, outputShape)
            {
                TakesAnySampleShape = FirstShapedLayer(model) is Reshape,
                ImageInput = start.Image is { } im ? [im.C, im.H, im.W] : null,
            };
    }

    /// <summary>The shape of one input example [C, H, W] of a plan whose model starts with an image layer; null otherwise.</summary>
    public IReadOnlyList<int>? ImageInput { get; private init; }

    /// <summary>What a plan's first stage takes: rows of <c>Features</c> values, which are NCHW images when <c>Image</c> is set.</summary>
    private readonly record struct PlanInput(int Features, (int C, int H, int W)? Image);

    // From the model's first shaped layer (a Dense, BatchNorm1d or Reshape fixes the width), or for a model that starts
    // with an image layer, from the shape of one example; null when neither tells.
    private static PlanInput? InputOf(Module model, IReadOnlyList<int>? sampleShape) => FirstShapedLayer(model) switch
    {
        Dense dense => new(dense.InFeatures, null),
        BatchNorm1d bn => new(bn.Features, null),
        Reshape reshape => new(Product(reshape.SampleShape), null),
        Conv2d or ConvTranspose2d or BatchNorm2d or MaxPool2d or AvgPool2d when sampleShape is [var c, var h, var w] && c > 0 && h > 0 && w > 0
            => new(c * h * w, (c, h, w)),
        _ => null,
    };

    /// <summary>True when the model starts, after any activations and dropout, with a layer that takes images of any size.</summary>
    internal static bool StartsWithImageLayer(Module model) => FirstShapedLayer(model) is Conv2d or ConvTranspose2d or BatchNorm2d or MaxPool2d or AvgPool2d;

    // The model's first layer that fixes the shape of its input, past activations and dropout; null at any other.
    // Walks nested Sequentials in call order (as Sequential.Leaves lists them) without building the leaf list, since
    // Fit and Evaluate ask at every batch (StartsWithImageLayer).
    private static Module? FirstShapedLayer(Module model) => FirstShapedLayer(model, out var layer) ? layer : null;

    // True once the walk is decided: `layer` is the shaped layer found, or null at a layer that ends the search.
    private static bool FirstShapedLayer(Module module, out Module? layer)
    {
        layer = null;
        if (module is Sequential seq)
        {
            var children = seq.Layers;
            for (int i = 0; i < children.Count; i++)
                if (FirstShapedLayer(children[i], out layer)) return true;
            return false;
        }
        if (module is Dense or BatchNorm1d or Reshape or Conv2d or ConvTranspose2d or BatchNorm2d or MaxPool2d or AvgPool2d)
        {
            layer = module;
            return true;
        }
        return module is not Dropout && Activation.KernelKind(module) is null;
    }

    /// <summary>
    /// Writes the model's evaluation-mode outputs [n, <see cref="OutFeatures"/>] for the rows <paramref name="x"/>
    /// [n, <see cref="InFeatures"/>] to <paramref name="y"/>. Allocates nothing once each convolution's scratch exists.
    /// </summary>
    public void Forward(ReadOnlySpan<float> x, Span<float> y, int n)
    {
        if (!forwardOnly) throw new InvalidOperationException("TrainingPlan: Forward needs a plan made by TryCreateForward.");
        if (n < 1 || n > MaxBatch)
            throw new ArgumentOutOfRangeException(nameof(n), n, $"TrainingPlan: a forward pass takes 1..{MaxBatch} rows.");
        int outputs = OutFeatures;
        if (x.Length != n * InFeatures || y.Length < n * outputs)
            throw new ShapeMismatchException($"TrainingPlan expected input [{n}, {InFeatures}] and output room for [{n}, {outputs}] but got {x.Length} and {y.Length} values.");
        x.CopyTo(input);
        float[] current = input;
        foreach (var stage in stages)
        {
            stage.Forward(current, n);
            current = stage.Output;
        }
        current.AsSpan(0, n * outputs).CopyTo(y);
    }
}
