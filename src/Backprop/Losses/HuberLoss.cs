namespace Backprop.Nn;

/// <summary>
/// Huber loss (PyTorch's <c>F.huber_loss</c> with <c>delta</c>): per element, with d = p − t,
/// term = ½d² where |d| &lt; δ, else δ·(|d| − ½δ); reduced by <see cref="Reduction"/> (default the mean over all
/// elements). ∂/∂p = d inside, δ·sign(d) outside.
/// </summary>
/// <remarks>MSE's half-square near 0 and L1's constant pull (scaled by δ) for outliers; δ·<see cref="SmoothL1Loss"/> with β = δ.</remarks>
public sealed class HuberLoss : ILoss
{
    /// <summary>A Huber loss with threshold <paramref name="delta"/> (&gt; 0; PyTorch's default 1).</summary>
    public HuberLoss(float delta = 1f, LossReduction reduction = LossReduction.Mean)
    {
        if (!(delta > 0f) || float.IsPositiveInfinity(delta))
            throw new ArgumentOutOfRangeException(nameof(delta), delta, $"huber: delta must be a finite number > 0 but is {delta}.");
        Delta = delta;
        Reduction = LossTerms.Check(reduction, "huber");
    }

    /// <summary>δ, where the quadratic part meets the linear one.</summary>
    public float Delta { get; }

    /// <summary>How the element terms are reduced.</summary>
    public LossReduction Reduction { get; }

    /// <inheritdoc/>
    public string Name => "huber";

    /// <inheritdoc/>
    public Tensor Compute(Tensor prediction, Tensor target) =>
        PointwiseLoss.Compute<Term>(Name, prediction, target, Reduction, Delta);

    private readonly struct Term : IPointwiseTerm
    {
        public static double Value(double d, double delta)
        {
            double a = Math.Abs(d);
            return a < delta ? 0.5 * d * d : delta * (a - 0.5 * delta);
        }

        public static double Slope(double d, double delta) => Math.Abs(d) < delta ? d : delta * Math.Sign(d);
    }
}
