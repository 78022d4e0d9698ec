namespace Backprop.Nn;

/// <summary>The cost functions of the seeds, and their numerically stable forms.</summary>
public static class Losses
{
    /// <summary>Mean squared error: mean over all elements of (prediction − target)².</summary>
    public static ILoss MSE { get; } = new MeanSquaredError(half: false);

    /// <summary>
    /// The seeds' form: <c>1/(2N) Σ (O_out − Y)²</c> with N the number of elements, so that its gradient is
    /// <c>(O_out − Y)/N</c> without the factor 2.
    /// </summary>
    public static ILoss HalfMSE { get; } = new MeanSquaredError(half: true);

    /// <summary>
    /// Binary cross-entropy on probabilities p ∈ (0,1): <c>−mean(y·ln p + (1−y)·ln(1−p))</c> (seed 000's E(W)).
    /// Logarithms are clamped at −100, as PyTorch does, so p = 0 or 1 gives a large finite loss.
    /// </summary>
    public static ILoss BinaryCrossEntropy { get; } = new BinaryCrossEntropyLoss();

    /// <summary>Binary cross-entropy on raw scores z (the sigmoid is inside, computed stably).</summary>
    public static ILoss BinaryCrossEntropyWithLogits { get; } = new BinaryCrossEntropyWithLogitsLoss();

    /// <summary>
    /// Cross-entropy over a softmax, from raw scores (logits) [N, C]; targets are class indices [N] or
    /// one-hot / probability rows [N, C]. Mean over the N rows.
    /// </summary>
    public static CrossEntropyLoss CrossEntropy { get; } = new CrossEntropyLoss();

    /// <summary>
    /// Mean absolute error, <c>mean |prediction − target|</c> (<see cref="L1Loss"/>; construct one for another
    /// reduction).
    /// </summary>
    public static ILoss L1 { get; } = new L1Loss();

    /// <summary>Smooth L1 with β = 1 (<see cref="SmoothL1Loss"/>; construct one for another β).</summary>
    public static ILoss SmoothL1 { get; } = new SmoothL1Loss();

    /// <summary>Huber with δ = 1 (<see cref="HuberLoss"/>; construct one for another δ).</summary>
    public static ILoss Huber { get; } = new HuberLoss();

    /// <summary>
    /// Negative log-likelihood of log-probabilities [N, C] (after a log_softmax layer) and class indices [N], mean
    /// over rows (<see cref="NllLoss"/>; construct one for class weights or an ignored index).
    /// </summary>
    public static NllLoss Nll { get; } = new NllLoss();

    /// <summary>
    /// KL divergence of log-probabilities (input) from probabilities (target), PyTorch's <c>kl_div</c> with
    /// <c>reduction='batchmean'</c> (<see cref="KLDivLoss"/>).
    /// </summary>
    public static ILoss KLDiv { get; } = new KLDivLoss();

    /// <summary>Every loss, by name.</summary>
    public static IReadOnlyList<ILoss> All { get; } =
        [MSE, HalfMSE, BinaryCrossEntropy, BinaryCrossEntropyWithLogits, CrossEntropy, L1, SmoothL1, Huber, Nll, KLDiv];

    /// <summary>
    /// A loss by its name (mse, half_mse, bce, bce_logits, cross_entropy, l1, smooth_l1, huber, nll, kl_div), with
    /// its default settings.
    /// </summary>
    public static ILoss ByName(string name) =>
        All.FirstOrDefault(l => string.Equals(l.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown loss '{name}'; expected one of: {string.Join(", ", All.Select(l => l.Name))}.");

    /// <summary>Throws unless prediction and target have the same shape.</summary>
    internal static void RequireSameShape(string loss, Tensor prediction, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        if (!Shapes.Equal(prediction.dims, target.dims))
            throw new ShapeMismatchException(
                $"{loss}: prediction {Shapes.Format(prediction.dims)} and target {Shapes.Format(target.dims)} must have the same shape.");
    }
}
