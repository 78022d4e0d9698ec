using Backprop.Data;
using Backprop.Nn;

namespace Backprop.Training;

/// <summary>
/// <c>Fit</c> and <c>Evaluate</c> for a model with several outputs (<see cref="Module.ForwardOutputs"/>), a dataset
/// with several targets (<see cref="Dataset.WithMoreTargets"/>) or a <see cref="MultiOutputLoss"/>: output i, target
/// i and loss i go together, and the total Σᵢ wᵢ·lossᵢ is what trains. One output, one target and a plain loss take
/// the single-output path (which the compiled step can run) instead.
/// </summary>
internal static class OutputTerms
{
    /// <summary>Whether the run goes through the several-output path.</summary>
    public static bool Apply(Module model, Dataset data, ILoss loss) =>
        loss is MultiOutputLoss || data.TargetCount > 1 || ModuleFields.OverridesForwardOutputs(model.GetType());

    /// <summary>Why the compiled step, which takes one output and one target, cannot run it.</summary>
    public static string Reason(Module model, Dataset data, ILoss loss) =>
        data.TargetCount > 1 ? $"the data has {data.TargetCount} targets per row; the compiled step takes one"
        : loss is MultiOutputLoss m ? $"the loss is {m}, over a list of outputs; the compiled step takes one"
        : $"the model {model.GetType().Name} returns its outputs as a list (ForwardOutputs); the compiled step takes one";

    /// <summary>
    /// The batch's total loss (a graph scalar) and each output's own loss. Target 0 (the dataset's
    /// <see cref="Dataset.Targets"/>) is checked against output 0 and adapted to its loss as a single output's target
    /// is (one-hot rows of class indices for mse); every other target is adapted the same way, a rank-1 one being
    /// class indices. <paramref name="labels"/>, the batch's <see cref="Dataset.IntTargets"/> if the set holds them, go
    /// to a class-index loss for output 0 as integers.
    /// </summary>
    /// <exception cref="ArgumentException">The numbers of outputs, losses and targets differ (each is named).</exception>
    public static (Tensor Total, IReadOnlyList<Tensor> Terms) Loss(IReadOnlyList<Tensor> outputs, Tensor[] targets, IntTensor? labels, ILoss loss, Dataset data, bool validate)
    {
        var multi = loss as MultiOutputLoss ?? new MultiOutputLoss(loss);
        multi.RequireCounts(outputs.Count, targets.Length);
        if (validate) TargetAdapter.Validate(data, outputs[0], multi.Losses[0]);
        var terms = new Tensor[targets.Length];
        for (int i = 0; i < terms.Length; i++)
            terms[i] = i == 0 && labels is not null && multi.Losses[0] is IClassIndexLoss byIndex
                ? byIndex.Compute(outputs[0], labels)
                : multi.Losses[i].Compute(outputs[i], TargetAdapter.ForLoss(targets[i], outputs[i], multi.Losses[i], i == 0 ? data.IsClassification : targets[i].Rank == 1));
        return (multi.Total(terms), terms);
    }
}
