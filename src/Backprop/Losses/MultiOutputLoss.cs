using System.Globalization;

namespace Backprop.Nn;

/// <summary>
/// The loss of a model with several outputs (<see cref="Module.ForwardOutputs"/>): loss i compares output i with
/// target i, and the total is Σᵢ wᵢ·lossᵢ, as PyTorch code writes
/// <c>loss = F.cross_entropy(logits, y) + 0.5 * F.mse_loss(box, b)</c>. Its gradient is wᵢ·∂lossᵢ/∂outputᵢ for each
/// output. <c>Fit</c> and <c>Evaluate</c> take it with a dataset whose rows carry one target per output
/// (<see cref="Data.Dataset.WithMoreTargets"/>) and report each output's own (unweighted) loss beside the total.
/// </summary>
public sealed class MultiOutputLoss : ILoss
{
    private readonly ILoss[] losses;
    private readonly float[] weights;

    /// <summary>One loss per output, each with weight 1: total = Σᵢ lossᵢ.</summary>
    public MultiOutputLoss(params IReadOnlyList<ILoss> losses)
        : this([.. (losses ?? throw new ArgumentNullException(nameof(losses))).Select(l => (l, 1f))])
    {
    }

    /// <summary>One (loss, weight) per output, in the order the model returns its outputs: total = Σᵢ wᵢ·lossᵢ.</summary>
    /// <exception cref="ArgumentException">No terms, a null loss, or a weight that is not finite and ≥ 0.</exception>
    public MultiOutputLoss(params IReadOnlyList<(ILoss Loss, float Weight)> terms)
    {
        ArgumentNullException.ThrowIfNull(terms);
        if (terms.Count == 0) throw new ArgumentException("multi_output: give one loss per output; none were given.", nameof(terms));
        losses = new ILoss[terms.Count];
        weights = new float[terms.Count];
        for (int i = 0; i < terms.Count; i++)
        {
            var (loss, weight) = terms[i];
            losses[i] = loss ?? throw new ArgumentNullException(nameof(terms), $"multi_output: the loss for output {i} is null.");
            if (loss is MultiOutputLoss)
                throw new ArgumentException($"multi_output: the loss for output {i} is itself a multi_output loss; give one loss per output.", nameof(terms));
            if (!(weight >= 0f) || float.IsPositiveInfinity(weight))
                throw new ArgumentOutOfRangeException(nameof(terms), weight, $"multi_output: the weight of output {i} ({loss.Name}) must be a finite number ≥ 0 but is {weight.ToString(CultureInfo.InvariantCulture)}.");
            weights[i] = weight;
        }
    }

    /// <summary>The loss of each output, in output order.</summary>
    public IReadOnlyList<ILoss> Losses => losses;

    /// <summary>The weight wᵢ of each output's loss in the total.</summary>
    public IReadOnlyList<float> Weights => weights;

    /// <summary>How many outputs (and targets) it takes.</summary>
    public int Count => losses.Length;

    /// <inheritdoc/>
    public string Name => "multi_output";

    /// <summary>
    /// The loss of a single output: w₀·loss₀ when this loss has one term. A loss over several outputs takes them as
    /// lists (<see cref="Compute(IReadOnlyList{Tensor}, IReadOnlyList{Tensor})"/>).
    /// </summary>
    /// <exception cref="ArgumentException">This loss has several terms.</exception>
    public Tensor Compute(Tensor prediction, Tensor target)
    {
        if (losses.Length != 1)
            throw new ArgumentException($"{this} takes {losses.Length} outputs and {losses.Length} targets as lists, Compute(outputs, targets), but was given one of each.");
        return Compute([prediction], [target]);
    }

    /// <summary>The weighted total Σᵢ wᵢ·lossᵢ(outputᵢ, targetᵢ), a 0-d tensor recording the graph.</summary>
    public Tensor Compute(IReadOnlyList<Tensor> outputs, IReadOnlyList<Tensor> targets) => ComputeTerms(outputs, targets).Total;

    /// <summary>
    /// The weighted total and each output's own loss lossᵢ(outputᵢ, targetᵢ), unweighted (what training reports per
    /// output). The total is summed in output order: w₀·loss₀ + w₁·loss₁ + ...
    /// </summary>
    /// <exception cref="ArgumentException">The numbers of outputs, losses and targets differ.</exception>
    public (Tensor Total, IReadOnlyList<Tensor> Terms) ComputeTerms(IReadOnlyList<Tensor> outputs, IReadOnlyList<Tensor> targets)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(targets);
        RequireCounts(outputs.Count, targets.Count);
        var terms = new Tensor[losses.Length];
        for (int i = 0; i < terms.Length; i++) terms[i] = losses[i].Compute(outputs[i], targets[i]);
        return (Total(terms), terms);
    }

    /// <summary>w₀·terms₀ + w₁·terms₁ + ..., summed in output order.</summary>
    internal Tensor Total(IReadOnlyList<Tensor> terms)
    {
        var total = terms[0] * weights[0];
        for (int i = 1; i < terms.Count; i++) total += terms[i] * weights[i];
        return total;
    }

    /// <summary>Throws unless there are as many outputs and targets as losses, naming each count.</summary>
    internal void RequireCounts(int outputs, int targets)
    {
        if (outputs == losses.Length && targets == losses.Length) return;
        throw new ArgumentException(
            $"multi_output: {Count(outputs, "output")}, {Count(losses.Length, "loss")} ({string.Join(", ", losses.Select(l => l.Name))}) and {Count(targets, "target")}; " +
            "output i is compared with target i by loss i, so the three counts must be equal (a model returns several outputs from ForwardOutputs, a dataset carries several targets from WithMoreTargets).");

        static string Count(int n, string what) => $"{n} {what}{(n == 1 ? "" : what.EndsWith('s') ? "es" : "s")}";
    }

    /// <summary>The terms, e.g. <c>multi_output(cross_entropy, 0.5·mse)</c>.</summary>
    public override string ToString() =>
        $"{Name}({string.Join(", ", losses.Select((l, i) => weights[i] == 1f ? l.Name : $"{weights[i].ToString(CultureInfo.InvariantCulture)}·{l.Name}"))})";
}
