using Backprop.Nn;

namespace Backprop.Reporting;

/// <summary>Turns a classifier's raw outputs into one probability (or score) per class, as its loss reads them.</summary>
public static class ClassProbabilities
{
    /// <summary>
    /// Class probabilities [N, C] from outputs [N, C] or [N, 1]: softmax of logits trained with cross-entropy (and of
    /// log-probabilities trained with nll or kl_div); for a single output, [1 − p, p] with p = σ(z) (bce_logits) or the
    /// output clamped to [0, 1] (bce, mse); otherwise the outputs themselves (a model trained with MSE on one-hot rows,
    /// as in the seeds, gives scores, not probabilities).
    /// The argmax of each row is the class <see cref="Training.Trainer.ToClasses"/> picks.
    /// </summary>
    public static Tensor FromOutputs(Tensor outputs, ILoss loss)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(loss);
        if (outputs.Rank != 2)
            throw new ShapeMismatchException($"ClassProbabilities: expected outputs [N, C] but got {Shapes.Format(outputs.dims)}.");
        using var _ = GradMode.NoGrad();
        if (outputs.dims[1] == 1)
        {
            var p1 = loss is BinaryCrossEntropyWithLogitsLoss ? outputs.Sigmoid() : outputs.Clamp(0f, 1f);
            int n = outputs.dims[0];
            var pairs = new float[2 * n];
            for (int i = 0; i < n; i++) (pairs[2 * i], pairs[2 * i + 1]) = (1 - p1.data[i], p1.data[i]);
            return Tensor.FromArray(pairs, n, 2);
        }
        // Log-probabilities (nll, kl_div) give the probabilities back under softmax too: softmax(ln p) = p.
        return loss is CrossEntropyLoss or NllLoss or KLDivLoss ? outputs.Softmax(-1) : outputs.Detach();
    }
}
