namespace Backprop.Nn;

/// <summary>How a loss turns its per-element (or per-row) terms into the one number it returns.</summary>
public enum LossReduction
{
    /// <summary>
    /// The mean, as PyTorch's <c>reduction='mean'</c>: over all elements for element-wise losses; over rows, weighted
    /// by the target class's weight and leaving out ignored rows, for <see cref="CrossEntropyLoss"/> and
    /// <see cref="NllLoss"/> on class indices.
    /// </summary>
    Mean,

    /// <summary>The plain sum of the terms (<c>reduction='sum'</c>).</summary>
    Sum,

    /// <summary>
    /// The sum divided by the batch size (the first dimension), PyTorch's <c>reduction='batchmean'</c> of
    /// <c>kl_div</c>, where it is the mathematically correct KL divergence per sample. Offered by every loss here.
    /// </summary>
    BatchMean,
}

/// <summary>Helpers shared by the losses: the divisor of a reduction and argument checks.</summary>
internal static class LossTerms
{
    /// <summary>
    /// What the sum of the terms is divided by: <paramref name="meanOver"/> for Mean, 1 for Sum, the batch size for
    /// BatchMean. A divisor of 0 (nothing to average: every row ignored) makes the loss 0 with a zero gradient.
    /// </summary>
    public static double Divisor(LossReduction reduction, double meanOver, int batch) => reduction switch
    {
        LossReduction.Mean => meanOver,
        LossReduction.Sum => 1,
        _ => batch,
    };

    /// <summary>1/divisor, or 0 for a divisor of 0 (see <see cref="Divisor"/>).</summary>
    public static double Scale(double divisor) => divisor == 0 ? 0 : 1 / divisor;

    /// <summary>Throws unless <paramref name="reduction"/> is a defined value.</summary>
    public static LossReduction Check(LossReduction reduction, string loss) =>
        Enum.IsDefined(reduction) ? reduction
            : throw new ArgumentOutOfRangeException(nameof(reduction), reduction, $"{loss}: the reduction must be Mean, Sum or BatchMean but is {(int)reduction}.");

    /// <summary>The batch size of a prediction: its first dimension, 1 for a scalar.</summary>
    public static int Batch(Tensor prediction) => prediction.Rank == 0 ? 1 : prediction.dims[0];
}
