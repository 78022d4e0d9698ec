using Backprop.Data;
using Backprop.Nn;

namespace Backprop.Training;

/// <summary>
/// Bridges a dataset's targets and a model's outputs: class indices become one-hot rows for losses that compare
/// rows (MSE, as in the seeds; kl_div) and stay indices for cross_entropy and nll, and a column [N,1] for single-output
/// binary models; accuracy reads classes back.
/// </summary>
internal static class TargetAdapter
{
    /// <summary>The target tensor the loss should see for this batch.</summary>
    public static Tensor ForLoss(Tensor y, Tensor output, ILoss loss, bool classification)
    {
        if (!classification || output.Rank != 2) return y;
        int n = output.Shape[0], cols = output.Shape[1];
        if (cols == 1) return y.Rank == 1 ? y.Reshape(n, 1) : y;
        if (loss is CrossEntropyLoss or NllLoss || y.Rank != 1) return y;
        return Tensor.OneHot(y, cols, Tensor.Empty(Shapes.Interned([y.Shape[0], cols])));
    }

    /// <summary>Predicted class per row: argmax for several outputs; a threshold for one output.</summary>
    public static int[] Classes(Tensor output, ILoss? loss)
    {
        int n = output.Shape[0];
        var classes = new int[n];
        if (IsRows(output))
        {
            for (int i = 0; i < n; i++) classes[i] = ClassOfRow(output.data, i, output.Shape[1], Threshold(loss));
            return classes;
        }
        var arg = output.ArgMax(-1);
        for (int i = 0; i < n; i++) classes[i] = (int)arg.data[i];
        return classes;
    }

    /// <summary>
    /// Number of rows whose predicted class equals the target index: <paramref name="labels"/> when the set holds its
    /// labels as integers, else the float targets <paramref name="y"/>.
    /// </summary>
    public static int CountCorrect(Tensor output, Tensor y, ILoss? loss, IntTensor? labels = null)
    {
        if (!IsRows(output)) return CountCorrect(Classes(output, loss), y, labels);
        // Rows [N, C]: each row's class found in place, as Classes finds it (no array: Fit counts every batch).
        int n = output.Shape[0], cols = output.Shape[1], correct = 0;
        float threshold = Threshold(loss);
        for (int i = 0; i < n; i++)
            if (ClassOfRow(output.data, i, cols, threshold) == (labels is null ? (int)y.data[i] : labels.data[i])) correct++;
        return correct;
    }

    private static int CountCorrect(int[] predicted, Tensor y, IntTensor? labels)
    {
        int correct = 0;
        for (int i = 0; i < predicted.Length; i++) if (predicted[i] == (labels is null ? (int)y.data[i] : labels.data[i])) correct++;
        return correct;
    }

    private static bool IsRows(Tensor output) => output.Rank == 2 && output.Shape[1] > 0;

    // The one output of a binary classifier is a probability, or a logit for BCE with logits.
    private static float Threshold(ILoss? loss) => loss is BinaryCrossEntropyWithLogitsLoss ? 0f : 0.5f;

    // Row i of [N, C] outputs: for one column, 1 above the threshold; else the index of the row's maximum by ArgMax's
    // rule (Tensor.FirstMaxIndex).
    private static int ClassOfRow(float[] outputs, int i, int cols, float threshold) =>
        cols == 1 ? (outputs[i] > threshold ? 1 : 0) : Tensor.FirstMaxIndex(outputs, i * cols, cols, 1);

    /// <summary>Throws a clear error when the model's output cannot be compared with the dataset's targets.</summary>
    public static void Validate(Dataset data, Tensor output, ILoss loss)
    {
        if (output.Rank != 2)
            throw new ShapeMismatchException($"the model's output must be [batch, outputs] but is {Shapes.Format(output.dims)}.");
        int cols = output.Shape[1];
        if (data.IsClassification)
        {
            if (cols == 1 && data.NumClasses > 2)
                throw new ShapeMismatchException($"the model has 1 output but the dataset '{data.Name}' has {data.NumClasses} classes; use {data.NumClasses} outputs.");
            if (cols > 1 && cols != data.NumClasses)
                throw new ShapeMismatchException($"the model has {cols} outputs but the dataset '{data.Name}' has {data.NumClasses} classes.");
            if (cols == 1 && loss is CrossEntropyLoss or NllLoss)
                throw new ArgumentException($"{loss.Name} needs one output per class; with a single output use bce_logits (or bce after a sigmoid).");
        }
        else if (data.Targets.Rank == 2 && data.Targets.Shape[1] != cols)
            throw new ShapeMismatchException($"the model has {cols} outputs but the dataset '{data.Name}' has {data.Targets.Shape[1]} target columns.");
    }
}
