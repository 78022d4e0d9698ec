using Backprop.Kernels;
using Backprop.Nn;

namespace Backprop.Training;

internal sealed partial class TrainingPlan
{
    /// <summary>Cross-entropy with class weights, label smoothing, an ignored index or another reduction; null for the plain loss.</summary>
    private CrossEntropyLoss? CrossEntropyOptions { get; init; }

    /// <summary>
    /// The loss and ∂loss/∂logits of cross-entropy with options, as <see cref="CrossEntropyLoss.Compute(Tensor, Tensor)"/> defines
    /// them: D = Σ w_yᵢ over the rows not ignored (Mean), 1 (Sum) or n (BatchMean). Returns the loss as the graph's
    /// step reports it (its value × n, 0 when D is 0) and the correct count.
    /// </summary>
    private (double LossSum, int Correct) CrossEntropyWithOptions(Stage last, int n)
    {
        var loss = CrossEntropyOptions!;
        var weight = loss.WeightArray;
        bool ignores = loss.IgnoreIndex is not null;
        int ignored = loss.IgnoreIndex ?? 0;
        double mass = 0;
        for (int r = 0; r < n; r++)
            if (!(ignores && labels[r] == ignored)) mass += weight?[labels[r]] ?? 1;
        double divisor = LossTerms.Divisor(loss.Reduction, mass, n);
        var (sum, correct) = WeightedSoftmaxCrossEntropyKernel.ForwardBackward(last.Delta, last.Output, labels, weight,
            loss.LabelSmoothing, ignores, ignored, n, last.OutSize, divisor);
        return (divisor == 0 ? 0 : sum / divisor * n, correct);
    }
}
