using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace Backprop.Kernels;

/// <summary>
/// Softmax cross-entropy on logits with class-index labels, forward and backward in one pass over each row:
/// <c>loss_i = log Σ_c e^(z_ic) − z_i,label</c>; <c>∂(mean loss)/∂z_ic = (softmax(z_i)_c − [c = label]) / N</c>.
/// Span in, span out; no allocation, no autograd.
/// </summary>
internal static class SoftmaxCrossEntropyKernel
{
    /// <summary>
    /// For logits z[rows, classes] and labels[rows]: writes dz = (softmax(z) − onehot)/<paramref name="meanOver"/>
    /// and returns the summed (not averaged) loss and the number of rows whose largest logit is at the label
    /// (first maximum on ties, as ArgMax).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double LossSum, int Correct) ForwardBackward(Span<float> dz, ReadOnlySpan<float> z,
        ReadOnlySpan<int> labels, int rows, int classes, int meanOver)
    {
        double lossSum = 0;
        int correct = 0;
        float scale = 1f / Math.Max(1, meanOver);
        for (int i = 0; i < rows; i++)
        {
            var zi = z.Slice(i * classes, classes);
            var di = dz.Slice(i * classes, classes);
            int label = labels[i];
            int arg = TensorPrimitives.IndexOfMax(zi);
            float max = zi[arg];
            // Shift by the max before exponentiating so no e^z overflows; the log-sum is accumulated in double.
            TensorPrimitives.Subtract(zi, max, di);
            TensorPrimitives.Exp(di, di);
            double sumExp = TensorPrimitives.Sum<float>(di);
            lossSum += Math.Log(sumExp) - (zi[label] - max);
            TensorPrimitives.Multiply(di, (float)(scale / sumExp), di);
            di[label] -= scale;
            if (arg == label) correct++;
        }
        return (lossSum, correct);
    }
}
