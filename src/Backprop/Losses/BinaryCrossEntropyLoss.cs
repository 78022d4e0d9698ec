namespace Backprop.Nn;

/// <summary>−mean(y·ln p + (1−y)·ln(1−p)), composed from engine ops (so autograd supplies its gradient).</summary>
internal sealed class BinaryCrossEntropyLoss : ILoss
{
    public string Name => "bce";

    public Tensor Compute(Tensor prediction, Tensor target)
    {
        Losses.RequireSameShape(Name, prediction, target);
        var logP = prediction.Log().Clamp(-100f, float.MaxValue);
        var log1mP = (1f - prediction).Log().Clamp(-100f, float.MaxValue);
        return -(target * logP + (1f - target) * log1mP).Mean();
    }
}

/// <summary>
/// BCE from logits, one fused op: loss = mean(max(z,0) − z·y + ln(1 + e^−|z|)); ∂loss/∂z = (σ(z) − y)/n.
/// </summary>
/// <remarks>
/// NOTE: composing this from relu and abs would give the wrong gradient at z = 0 (both have derivative 0 there,
/// but the true slope is σ(0) − y = ½ − y), and zero logits are common right after zero initialisation.
/// </remarks>
internal sealed class BinaryCrossEntropyWithLogitsLoss : ILoss
{
    public string Name => "bce_logits";

    public Tensor Compute(Tensor prediction, Tensor target)
    {
        Losses.RequireSameShape(Name, prediction, target);
        var z = prediction.data;
        var y = target.data;
        int n = z.Length;
        double sum = 0;
        for (int i = 0; i < n; i++)
            sum += Math.Max(z[i], 0f) - z[i] * y[i] + Math.Log(1 + Math.Exp(-Math.Abs(z[i])));
        var loss = Tensor.ScalarResult((float)(sum / Math.Max(1, n)));
        loss.Record("bce_logits", Backward, prediction, target, saves: Tensor.Saves.Input0 | Tensor.Saves.Input1);
        return loss;
    }

    private static readonly GradNode.StaticBackward Backward = static (node, g) =>
    {
        var (prediction, target) = (node.Inputs[0], node.Inputs[1]);
        var (z, y) = (prediction.data, target.data);
        int n = z.Length;
        float scale = g.data[0] / Math.Max(1, n);
        if (prediction.RequiresGrad)
        {
            var dz = Tensor.Empty(prediction.dims);
            for (int i = 0; i < n; i++) dz.data[i] = scale * (1f / (1f + MathF.Exp(-z[i])) - y[i]);
            prediction.AccumulateOwnedGrad(dz);
        }
        if (target.RequiresGrad)
        {
            var dy = Tensor.Empty(target.dims);   // ∂/∂y = −z/n
            for (int i = 0; i < n; i++) dy.data[i] = -scale * z[i];
            target.AccumulateOwnedGrad(dy);
        }
    };
}
