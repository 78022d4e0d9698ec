namespace Backprop.Nn;

/// <summary>
/// Smooth L1 loss (PyTorch's <c>F.smooth_l1_loss</c> with <c>beta</c>): per element, with d = p − t,
/// term = ½d²/β where |d| &lt; β, else |d| − ½β; reduced by <see cref="Reduction"/> (default the mean over all
/// elements). ∂/∂p = d/β inside, sign(d) outside. β = 0 is the L1 loss.
/// </summary>
/// <remarks>
/// Equals <see cref="HuberLoss"/> with δ = β divided by β: quadratic near 0, so small errors get small gradients,
/// and linear beyond β, so outliers pull no harder than in L1.
/// </remarks>
public sealed class SmoothL1Loss : ILoss
{
    /// <summary>A smooth L1 loss with threshold <paramref name="beta"/> (≥ 0; PyTorch's default 1).</summary>
    public SmoothL1Loss(float beta = 1f, LossReduction reduction = LossReduction.Mean)
    {
        if (!(beta >= 0f) || float.IsPositiveInfinity(beta))
            throw new ArgumentOutOfRangeException(nameof(beta), beta, $"smooth_l1: beta must be a finite number ≥ 0 but is {beta}.");
        Beta = beta;
        Reduction = LossTerms.Check(reduction, "smooth_l1");
    }

    /// <summary>β, where the quadratic part meets the linear one.</summary>
    public float Beta { get; }

    /// <summary>How the element terms are reduced.</summary>
    public LossReduction Reduction { get; }

    /// <inheritdoc/>
    public string Name => "smooth_l1";

    /// <inheritdoc/>
    public Tensor Compute(Tensor prediction, Tensor target) =>
        PointwiseLoss.Compute<Term>(Name, prediction, target, Reduction, Beta);

    private readonly struct Term : IPointwiseTerm
    {
        public static double Value(double d, double beta)
        {
            double a = Math.Abs(d);
            return a < beta ? 0.5 * d * d / beta : a - 0.5 * beta;
        }

        public static double Slope(double d, double beta) => Math.Abs(d) < beta ? d / beta : Math.Sign(d);
    }
}
