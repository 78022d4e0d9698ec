using System.Numerics.Tensors;

namespace Backprop.Kernels;

/// <summary>
/// Softmax cross-entropy on logits with class-index labels, class weights w, label smoothing ε and ignored rows,
/// forward and backward in one pass over each row (the plain form is <see cref="SoftmaxCrossEntropyKernel"/>). Row i
/// with label y has effective targets U[c] = w_c·((1 − ε)·[c = y] + ε/C) and mass m = Σ_c U[c];
/// <c>loss_i = Σ_c U[c]·(log Σ e^z − z_c) = m·log Σ e^(z − max) − Σ_c U[c]·(z_c − max)</c>;
/// <c>∂(Σ loss / D)/∂z_c = (softmax(z)_c·m − U[c]) / D</c>. An ignored row has loss 0 and gradient 0.
/// Span in, span out; no allocation, no autograd.
/// </summary>
internal static class WeightedSoftmaxCrossEntropyKernel
{
    /// <summary>
    /// For logits z[rows, classes] and labels[rows]: writes dz = (softmax(z)·m − U)/<paramref name="divisor"/> (0 when
    /// the divisor is 0) and returns Σᵢ loss_i (not divided) and the number of rows whose largest logit is at the label
    /// (ignored rows included, first maximum on ties). <paramref name="weight"/> is empty for unit weights; a row whose
    /// label equals <paramref name="ignoreIndex"/> (when <paramref name="ignores"/>) is left out.
    /// </summary>
    public static (double LossSum, int Correct) ForwardBackward(Span<float> dz, ReadOnlySpan<float> z, ReadOnlySpan<int> labels,
        ReadOnlySpan<float> weight, float smoothing, bool ignores, int ignoreIndex, int rows, int classes, double divisor)
    {
        double lossSum = 0;
        int correct = 0;
        double scale = divisor == 0 ? 0 : 1 / divisor;
        double spread = (double)smoothing / classes, kept = 1 - (double)smoothing;
        double weightSum = weight.IsEmpty ? classes : TensorPrimitives.Sum(weight);
        for (int i = 0; i < rows; i++)
        {
            var zi = z.Slice(i * classes, classes);
            var di = dz.Slice(i * classes, classes);
            int label = labels[i];
            int arg = TensorPrimitives.IndexOfMax(zi);
            if (arg == label) correct++;
            if (ignores && label == ignoreIndex)
            {
                di.Clear();
                continue;
            }
            float max = zi[arg];
            double wy = weight.IsEmpty ? 1 : weight[label];
            TensorPrimitives.Subtract(zi, max, di);   // z − max, for the target dot product and then e^(z − max)
            double dot = wy * kept * di[label];
            if (spread != 0) dot += spread * (weight.IsEmpty ? TensorPrimitives.Sum<float>(di) : TensorPrimitives.Dot(weight, di));
            double mass = spread * weightSum + wy * kept;
            TensorPrimitives.Exp(di, di);
            double sumExp = TensorPrimitives.Sum<float>(di);
            lossSum += mass * Math.Log(sumExp) - dot;
            TensorPrimitives.Multiply(di, (float)(mass * scale / sumExp), di);
            if (spread != 0)
            {
                if (weight.IsEmpty) TensorPrimitives.Subtract(di, (float)(spread * scale), di);
                else TensorPrimitives.MultiplyAdd(weight, (float)(-spread * scale), di, di);
            }
            di[label] -= (float)(wy * kept * scale);
        }
        return (lossSum, correct);
    }
}
