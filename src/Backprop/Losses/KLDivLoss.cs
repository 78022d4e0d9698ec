namespace Backprop.Nn;

/// <summary>
/// Kullback–Leibler divergence in PyTorch's <c>F.kl_div</c> convention: the input X holds log-probabilities
/// (e.g. a <c>log_softmax</c> output), the target T plain probabilities, both of the same shape; per element
/// term = T·(ln T − X), and 0 where T = 0. The default reduction is <see cref="LossReduction.BatchMean"/>
/// (sum / batch size), which is KL(T ‖ exp X) per sample; <see cref="LossReduction.Mean"/> divides by the element
/// count instead, as PyTorch's <c>reduction='mean'</c> (which PyTorch warns is not the KL divergence).
/// ∂/∂X = −T/divisor; ∂/∂T = (ln T + 1 − X)/divisor where T &gt; 0.
/// </summary>
/// <remarks>
/// Where T = 0 the target's gradient is taken as 0 (PyTorch gives NaN there: ln 0 is −∞). Targets must be ≥ 0.
/// </remarks>
public sealed class KLDivLoss : ILoss
{
    /// <summary>A KL divergence reduced by <paramref name="reduction"/> (default BatchMean).</summary>
    public KLDivLoss(LossReduction reduction = LossReduction.BatchMean) => Reduction = LossTerms.Check(reduction, "kl_div");

    /// <summary>How the element terms are reduced.</summary>
    public LossReduction Reduction { get; }

    /// <inheritdoc/>
    public string Name => "kl_div";

    /// <inheritdoc/>
    public Tensor Compute(Tensor prediction, Tensor target)
    {
        Losses.RequireSameShape(Name, prediction, target);
        var x = prediction.data;
        var t = target.data;
        int n = x.Length;
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            if (t[i] > 0) sum += t[i] * (Math.Log(t[i]) - x[i]);
            else if (!(t[i] == 0))
                throw new ArgumentException($"kl_div: target element {i} is {t[i]}, but the target must hold probabilities ≥ 0.");
        }
        double scale = LossTerms.Scale(LossTerms.Divisor(Reduction, n, LossTerms.Batch(prediction)));
        var loss = Tensor.ScalarResult((float)(sum * scale));
        return loss.Record(Name, [prediction, target], g =>
        {
            double s = g.data[0] * scale;
            if (prediction.RequiresGrad)
            {
                var dx = Tensor.Uninitialized(prediction.dims);
                for (int i = 0; i < n; i++) dx.data[i] = (float)(-s * t[i]);
                prediction.AccumulateOwnedGrad(dx);
            }
            if (target.RequiresGrad)
            {
                var dt = Tensor.Uninitialized(target.dims);
                for (int i = 0; i < n; i++) dt.data[i] = t[i] > 0 ? (float)(s * (Math.Log(t[i]) + 1 - x[i])) : 0f;
                target.AccumulateOwnedGrad(dt);
            }
        }, saved: [prediction, target]);
    }
}
