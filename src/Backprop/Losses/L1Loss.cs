namespace Backprop.Nn;

/// <summary>
/// Mean absolute error (PyTorch's <c>F.l1_loss</c>): term |p − t| per element, reduced by <see cref="Reduction"/>
/// (default the mean over all elements). ∂/∂p = sign(p − t), and 0 where p = t (as PyTorch's sign).
/// </summary>
/// <remarks>Prediction and target must have the same shape. Robust to outliers: every error pulls with the same force.</remarks>
public sealed class L1Loss : ILoss
{
    /// <summary>An L1 loss reduced by <paramref name="reduction"/>.</summary>
    public L1Loss(LossReduction reduction = LossReduction.Mean) => Reduction = LossTerms.Check(reduction, "l1");

    /// <summary>How the element terms are reduced.</summary>
    public LossReduction Reduction { get; }

    /// <inheritdoc/>
    public string Name => "l1";

    /// <inheritdoc/>
    public Tensor Compute(Tensor prediction, Tensor target) =>
        PointwiseLoss.Compute<Term>(Name, prediction, target, Reduction, 0);

    private readonly struct Term : IPointwiseTerm
    {
        public static double Value(double d, double k) => Math.Abs(d);

        public static double Slope(double d, double k) => Math.Sign(d);
    }
}
