namespace Backprop.Nn;

/// <summary>
/// One element's term of a loss of d = prediction − target, and its slope: ∂term/∂prediction = Slope(d),
/// ∂term/∂target = −Slope(d); a parameter of the loss (β, δ) comes in as <c>k</c>.
/// </summary>
internal interface IPointwiseTerm
{
    /// <summary>The term at difference <paramref name="d"/> with parameter <paramref name="k"/>.</summary>
    static abstract double Value(double d, double k);

    /// <summary>∂term/∂d at <paramref name="d"/>.</summary>
    static abstract double Slope(double d, double k);
}

/// <summary>
/// The shared forward and backward of the element-wise regression losses (L1, smooth L1, Huber):
/// loss = reduce(term(pᵢ − tᵢ)), ∂loss/∂pᵢ = g·term'(pᵢ − tᵢ)/divisor, ∂loss/∂tᵢ = −∂loss/∂pᵢ.
/// Sums in double, so a float32 result is as close to the exact value as float32 allows.
/// </summary>
internal static class PointwiseLoss
{
    public static Tensor Compute<TTerm>(string name, Tensor prediction, Tensor target, LossReduction reduction, double k)
        where TTerm : IPointwiseTerm
    {
        Losses.RequireSameShape(name, prediction, target);
        var p = prediction.data;
        var t = target.data;
        int n = p.Length;
        double sum = 0;
        for (int i = 0; i < n; i++) sum += TTerm.Value((double)p[i] - t[i], k);
        double scale = LossTerms.Scale(LossTerms.Divisor(reduction, n, LossTerms.Batch(prediction)));
        var loss = Tensor.ScalarResult((float)(sum * scale));
        if (loss.Record(name, Backward<TTerm>.Run, prediction, target, saves: Tensor.Saves.Input0 | Tensor.Saves.Input1) is { } node)
            (node.D0, node.D1) = (scale, k);
        return loss;
    }

    // ∂/∂p = g·scale·slope(p − t), ∂/∂t = −that; scale and k in D0, D1.
    private static class Backward<TTerm> where TTerm : IPointwiseTerm
    {
        public static readonly GradNode.StaticBackward Run = static (node, g) =>
        {
            var (prediction, target) = (node.Inputs[0], node.Inputs[1]);
            var (p, t) = (prediction.data, target.data);
            double s = g.data[0] * node.D0, k = node.D1;
            int n = p.Length;
            if (prediction.RequiresGrad)
            {
                var dp = Tensor.Uninitialized(prediction.dims);
                for (int i = 0; i < n; i++) dp.data[i] = (float)(s * TTerm.Slope((double)p[i] - t[i], k));
                prediction.AccumulateOwnedGrad(dp);
            }
            if (target.RequiresGrad)
            {
                var dt = Tensor.Uninitialized(target.dims);
                for (int i = 0; i < n; i++) dt.data[i] = (float)(-s * TTerm.Slope((double)p[i] - t[i], k));
                target.AccumulateOwnedGrad(dt);
            }
        };
    }
}
