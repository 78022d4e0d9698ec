using System.Globalization;
using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// Batch normalisation, with PyTorch's semantics: while training each channel is normalised with the batch's mean
/// and biased variance, and the running statistics move towards the batch's (mean, unbiased variance) by
/// <see cref="Momentum"/>; in evaluation mode the running statistics are used instead. Then
/// <c>y = γ·x̂ + β</c> with learned γ (<c>weight</c>, initially 1) and β (<c>bias</c>, initially 0).
/// </summary>
/// <remarks>
/// Buffers (saved in model files beside the parameters): <c>running_mean</c> [C] (initially 0), <c>running_var</c>
/// [C] (initially 1) and <c>num_batches_tracked</c>, a float32 scalar of shape [] (PyTorch stores an int64 scalar;
/// float32 counts exactly up to 2²⁴ batches). The forward and backward are one fused op, <see cref="Tensor.BatchNorm"/>.
/// </remarks>
public abstract class BatchNorm : Module
{
    /// <summary>Creates the layer's parameters and buffers for <paramref name="features"/> channels.</summary>
    private protected BatchNorm(int features, float eps, float momentum, bool affine)
    {
        if (features <= 0)
            throw new ArgumentOutOfRangeException(nameof(features), features, $"{GetType().Name} expected a positive number of features but got {features}.");
        if (!(eps > 0f))
            throw new ArgumentOutOfRangeException(nameof(eps), eps, $"{GetType().Name} expected eps > 0 but got {eps.ToString(CultureInfo.InvariantCulture)}.");
        if (!(momentum >= 0f && momentum <= 1f))
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, $"{GetType().Name} expected momentum in [0, 1] but got {momentum.ToString(CultureInfo.InvariantCulture)}.");
        Features = features;
        Eps = eps;
        Momentum = momentum;
        if (affine)
        {
            Weight = Tensor.Ones(features).RequireGrad();
            Bias = Tensor.Zeros(features).RequireGrad();
        }
        RunningMean = Tensor.Zeros(features);
        RunningVar = Tensor.Ones(features);
        NumBatchesTracked = Tensor.Scalar(0f);
    }

    /// <summary>Number of channels C (features of a [N, F] input).</summary>
    public int Features { get; }

    /// <summary>ε added to the variance before its square root.</summary>
    public float Eps { get; }

    /// <summary>Weight of each new batch in the running statistics.</summary>
    public float Momentum { get; }

    /// <summary>Whether the layer has learned γ and β.</summary>
    public bool Affine => Weight is not null;

    /// <summary>γ [C], or null without affine parameters.</summary>
    public Tensor? Weight { get; }

    /// <summary>β [C], or null without affine parameters.</summary>
    public Tensor? Bias { get; }

    /// <summary>The running mean [C] used in evaluation mode.</summary>
    public Tensor RunningMean { get; }

    /// <summary>The running (unbiased) variance [C] used in evaluation mode.</summary>
    public Tensor RunningVar { get; }

    /// <summary>How many training batches have updated the running statistics (float32 scalar).</summary>
    public Tensor NumBatchesTracked { get; }

    /// <summary>The input shape this layer accepts, for error messages, e.g. <c>[N, 8]</c>.</summary>
    private protected abstract string ExpectedShape { get; }

    /// <summary>Whether <paramref name="input"/> has an accepted rank and C at dimension 1.</summary>
    private protected abstract bool Accepts(Tensor input);

    /// <summary>Normalises <paramref name="input"/> with batch statistics (training) or running statistics (evaluation).</summary>
    /// <exception cref="ShapeMismatchException">A shape this layer does not accept, or one value per channel when training.</exception>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!Accepts(input))
            throw new ShapeMismatchException($"{this} expected input {ExpectedShape} but got {Shapes.Format(input.dims)}.");
        if (IsTraining)
        {
            if (input.Size / Features <= 1)
                throw new ShapeMismatchException($"{this} expected more than 1 value per channel when training but got input {Shapes.Format(input.dims)}; use batches of 2 or more, or call Eval().");
            NumBatchesTracked.AsSpan()[0] += 1f;
        }
        return Tensor.BatchNorm(input, RunningMean, RunningVar, Weight, Bias, IsTraining, Momentum, Eps);
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Tensor Parameter)> OwnParameters()
    {
        if (Weight is not null) yield return ("weight", Weight);
        if (Bias is not null) yield return ("bias", Bias);
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Tensor Buffer)> OwnBuffers()
    {
        yield return ("running_mean", RunningMean);
        yield return ("running_var", RunningVar);
        yield return ("num_batches_tracked", NumBatchesTracked);
    }

    /// <summary>The spec with the given type and size key, plus eps, momentum and affine.</summary>
    private protected JsonObject Spec(string type, string sizeKey) => new()
    {
        ["type"] = type, [sizeKey] = Features, ["eps"] = Eps, ["momentum"] = Momentum, ["affine"] = Affine,
    };

    /// <summary><c>BatchNorm2d(32)</c>, with eps, momentum and affine appended where they differ from the defaults.</summary>
    private protected string Describe(string type)
    {
        var s = $"{type}({Features}";
        if (Eps != 1e-5f) s += $", eps={Eps.ToString(CultureInfo.InvariantCulture)}";
        if (Momentum != 0.1f) s += $", momentum={Momentum.ToString(CultureInfo.InvariantCulture)}";
        if (!Affine) s += ", affine=false";
        return s + ")";
    }
}

/// <summary>Batch normalisation of features: input [N, F] (or [N, C, L]), statistics per feature over the batch.</summary>
/// <param name="features">F, the number of features (channels).</param>
/// <param name="eps">ε added to the variance.</param>
/// <param name="momentum">Weight of each new batch in the running statistics.</param>
/// <param name="affine">Whether to learn γ and β.</param>
public sealed class BatchNorm1d(int features, float eps = 1e-5f, float momentum = 0.1f, bool affine = true)
    : BatchNorm(features, eps, momentum, affine)
{
    private protected override string ExpectedShape => $"[N, {Features}] or [N, {Features}, L]";

    private protected override bool Accepts(Tensor input) => input.Rank is 2 or 3 && input.Shape[1] == Features;

    /// <inheritdoc/>
    public override JsonObject ToSpec() => Spec("BatchNorm1d", "features");

    /// <inheritdoc/>
    public override string ToString() => Describe("BatchNorm1d");
}

/// <summary>Batch normalisation of images: input [N, C, H, W], statistics per channel over the batch and all pixels.</summary>
/// <param name="channels">C, the number of channels.</param>
/// <param name="eps">ε added to the variance.</param>
/// <param name="momentum">Weight of each new batch in the running statistics.</param>
/// <param name="affine">Whether to learn γ and β.</param>
public sealed class BatchNorm2d(int channels, float eps = 1e-5f, float momentum = 0.1f, bool affine = true)
    : BatchNorm(channels, eps, momentum, affine)
{
    private protected override string ExpectedShape => $"[N, {Features}, H, W]";

    private protected override bool Accepts(Tensor input) => input.Rank == 4 && input.Shape[1] == Features;

    /// <inheritdoc/>
    public override JsonObject ToSpec() => Spec("BatchNorm2d", "channels");

    /// <inheritdoc/>
    public override string ToString() => Describe("BatchNorm2d");
}
