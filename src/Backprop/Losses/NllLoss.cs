namespace Backprop.Nn;

/// <summary>
/// Negative log-likelihood (PyTorch's <c>F.nll_loss</c>): the input X [N, C] holds log-probabilities (e.g. the
/// output of a <c>log_softmax</c> layer), the target [N] class indices yᵢ (as floats, or as integers in an <see cref="IntTensor"/>). Row i's term is
/// −w_yᵢ·X[i, yᵢ] (w = 1 without class weights); rows whose target is <see cref="IgnoreIndex"/> count for nothing.
/// <see cref="LossReduction.Mean"/> (default) divides the sum by Σᵢ w_yᵢ over the rows not ignored (the row count
/// without weights), as PyTorch does. ∂loss/∂X[i, yᵢ] = −w_yᵢ/divisor; every other entry gets 0.
/// </summary>
/// <remarks>
/// When nothing is left to average (every row ignored, or only zero-weight classes), the mean is defined here as 0
/// with a zero gradient, so such a batch is a no-op step; PyTorch returns NaN (0/0) there.
/// <c>log_softmax</c> followed by this loss equals <see cref="CrossEntropyLoss"/> on the logits.
/// </remarks>
public sealed class NllLoss : IClassIndexLoss
{
    private readonly float[]? weight;

    /// <summary>
    /// An NLL loss with optional class <paramref name="weight"/>s (one per class, finite, ≥ 0), an optional class
    /// index to ignore (PyTorch's default is −100; here no index is ignored unless one is given), and a reduction.
    /// </summary>
    public NllLoss(IReadOnlyList<float>? weight = null, int? ignoreIndex = null, LossReduction reduction = LossReduction.Mean)
    {
        this.weight = ClassTargets.CopyWeights(weight, "nll");
        IgnoreIndex = ignoreIndex;
        Reduction = LossTerms.Check(reduction, "nll");
    }

    /// <summary>The class weights (a copy), or null when every class weighs 1.</summary>
    public IReadOnlyList<float>? Weight => weight;

    /// <summary>The target value whose rows are left out of the loss, or null for none.</summary>
    public int? IgnoreIndex { get; }

    /// <summary>How the row terms are reduced.</summary>
    public LossReduction Reduction { get; }

    /// <inheritdoc/>
    public string Name => "nll";

    /// <inheritdoc/>
    public Tensor Compute(Tensor prediction, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        int c = ClassCount(prediction, target.dims);
        return Fused(prediction, target, null, c);
    }

    /// <summary>The loss for class indices held as integers (exact at any size); the same value and gradient as for float indices.</summary>
    public Tensor Compute(Tensor prediction, IntTensor target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        int c = ClassCount(prediction, target.dims);
        return Fused(prediction, null, target, c);
    }

    // C of log-probabilities [N, C] beside class indices [N] (and class weights of C, if any); names both shapes otherwise.
    private int ClassCount(Tensor prediction, int[] targetDims)
    {
        if (prediction.Rank != 2)
            throw new ShapeMismatchException($"nll: expected log-probabilities [N, C] but got {Shapes.Format(prediction.dims)}.");
        int n = prediction.dims[0], c = prediction.dims[1];
        if (targetDims.Length != 1 || targetDims[0] != n)
            throw new ShapeMismatchException($"nll: log-probabilities {Shapes.Format(prediction.dims)} need class indices [{n}] but got {Shapes.Format(targetDims)}.");
        ClassTargets.RequireWeightsFor(weight, c, Name);
        return c;
    }

    // The op for each row's class (from float or integer targets; −1: ignored); a float target is recorded as an
    // input, though it gets no gradient.
    private Tensor Fused(Tensor prediction, Tensor? target, IntTensor? ints, int c)
    {
        int n = prediction.dims[0];
        // classes[i] = yᵢ, or −1 for an ignored row (as a float: exact below 2²⁴ classes per row); the arena gives it back when the step ends.
        var classes = TensorArena.Floats(n);
        var x = prediction.data;
        double sum = 0, weightSum = 0;
        for (int i = 0; i < n; i++)
        {
            int y = target is not null ? ClassTargets.ClassOf(target, i, c, IgnoreIndex, Name) : ClassTargets.ClassOf(ints!, i, c, IgnoreIndex, Name);
            classes[i] = y;
            if (y < 0) continue;
            double w = weight?[y] ?? 1;
            sum -= w * x[i * c + y];
            weightSum += w;
        }
        double scale = LossTerms.Scale(LossTerms.Divisor(Reduction, weightSum, n));
        var loss = Tensor.ScalarResult((float)(sum * scale));
        if (loss.Record(Name, FusedBackward, prediction, target) is { } node) (node.D0, node.Buffer0, node.State) = (scale, classes, this);
        return loss;
    }

    // ∂x[i, yᵢ] = −g·scale·w_yᵢ, 0 elsewhere; scale in D0, the classes in Buffer0, the loss (for its weights) in State.
    private static readonly GradNode.StaticBackward FusedBackward = static (node, g) =>
    {
        var prediction = node.Inputs[0];
        if (!prediction.RequiresGrad) return;
        var (self, classes) = ((NllLoss)node.State!, node.Buffer0!);
        int n = prediction.dims[0], c = prediction.dims[1];
        double s = g.data[0] * node.D0;
        var dx = Tensor.Empty(prediction.dims);
        for (int i = 0; i < n; i++)
        {
            int y = (int)classes[i];
            if (y >= 0) dx.data[i * c + y] = (float)(-s * (self.weight?[y] ?? 1));
        }
        prediction.AccumulateOwnedGrad(dx);
    };
}
