namespace Backprop.Nn;

/// <summary>
/// Softmax cross-entropy from logits Z [N, C], one fused op:
/// loss = −(1/N) Σᵢ Σ_c T[i,c]·log softmax(Z)[i,c]; ∂loss/∂Z = (softmax(Z) − T)/N·Σ_c T[i,c] per row
/// (= (softmax(Z) − T)/N for one-hot or probability targets).
/// </summary>
/// <remarks>
/// Targets may be class indices [N] (stored as floats) or rows [N, C]. Fusing avoids forming log(softmax) of tiny
/// probabilities and gives the textbook gradient softmax − onehot directly.
/// </remarks>
internal sealed class CrossEntropyLoss : ILoss
{
    public string Name => "cross_entropy";

    public Tensor Compute(Tensor prediction, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        if (prediction.Rank != 2)
            throw new ShapeMismatchException($"cross_entropy: expected logits [N, C] but got {Shapes.Format(prediction.dims)}.");
        int n = prediction.dims[0], c = prediction.dims[1];
        var t = TargetRows(target, n, c);

        var logSoftmax = TensorArena.Floats(n * c);   // rented for the step inside Fit; the node holds it until backward
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            var z = prediction.data.AsSpan(i * c, c);
            var ls = logSoftmax.AsSpan(i * c, c);
            float max = System.Numerics.Tensors.TensorPrimitives.Max(z);
            double sumExp = 0;
            for (int j = 0; j < c; j++) sumExp += Math.Exp(z[j] - max);
            float logSum = max + (float)Math.Log(sumExp);
            for (int j = 0; j < c; j++)
            {
                ls[j] = z[j] - logSum;
                total -= t[i * c + j] * (double)ls[j];
            }
        }
        var loss = Tensor.ScalarResult((float)(total / Math.Max(1, n)));
        return loss.Record("cross_entropy", [prediction, target], g =>
        {
            float scale = g.data[0] / Math.Max(1, n);
            if (prediction.RequiresGrad)
            {
                var dz = Tensor.Empty(prediction.dims);
                for (int i = 0; i < n; i++)
                {
                    float rowMass = 0f;
                    for (int j = 0; j < c; j++) rowMass += t[i * c + j];
                    for (int j = 0; j < c; j++)
                        dz.data[i * c + j] = scale * (MathF.Exp(logSoftmax[i * c + j]) * rowMass - t[i * c + j]);
                }
                prediction.AccumulateOwnedGrad(dz);
            }
            if (target.RequiresGrad && target.Rank == 2)
            {
                var dt = Tensor.Empty(target.dims);   // ∂/∂T = −log softmax(Z)/N
                for (int k = 0; k < dt.data.Length; k++) dt.data[k] = -scale * logSoftmax[k];
                target.AccumulateOwnedGrad(dt);
            }
        }, saved: target.Rank == 2 ? [target] : []);
    }

    /// <summary>Target rows [N, C]: the one-hot rows of class indices, or the given rows.</summary>
    private static float[] TargetRows(Tensor target, int n, int c)
    {
        if (target.Rank == 1 && target.dims[0] == n)
        {
            var t = TensorArena.Floats(n * c);
            for (int i = 0; i < n; i++)
            {
                float label = target.data[i];
                int k = (int)label;
                if (k != label || k < 0 || k >= c)
                    throw new ArgumentException($"cross_entropy: target {i} is {label}, but class indices must be whole numbers in 0..{c - 1}.");
                t[i * c + k] = 1f;
            }
            return t;
        }
        if (target.Rank == 2 && target.dims[0] == n && target.dims[1] == c) return target.data;
        throw new ShapeMismatchException(
            $"cross_entropy: logits {Shapes.Format([n, c])} need targets [{n}] (class indices) or [{n},{c}] (one-hot) but got {Shapes.Format(target.dims)}.");
    }
}
