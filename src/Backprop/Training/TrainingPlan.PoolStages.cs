using Backprop.Kernels;
using Backprop.Nn;

namespace Backprop.Training;

internal sealed partial class TrainingPlan
{
    /// <summary>
    /// Average pooling on channels-last images: A = the mean of each k×k window, dX = dA/k² spread over each window
    /// (<see cref="ChannelsLastAvgPool"/>, the same sums as the autograd op's).
    /// </summary>
    private sealed class AvgPoolStage(int c, int h, int w, int k, int s, int maxBatch)
        : Stage(c * h * w, c * ((h - k) / s + 1) * ((w - k) / s + 1), maxBatch)
    {
        public override bool HasTrainableParameters => false;

        public int OH => (h - k) / s + 1;

        public int OW => (w - k) / s + 1;

        public override void Forward(float[] x, int n) => ChannelsLastAvgPool.Forward(Output, x, n, h, w, c, k, s);

        public override void Backward(float[] x, float[]? dx, int n)
        {
            if (dx is not null) ChannelsLastAvgPool.Backward(dx, Delta, n, h, w, c, k, s);
        }
    }

    /// <summary>
    /// Inverted dropout on channels-last images. The autograd op draws one value per element of the NCHW tensor, in
    /// its row-major order; each example's mask is drawn in that order by the same <see cref="Tensor.DrawDropoutMask"/>
    /// from the layer's generator, then transposed [C, H·W] → [H·W, C], so both paths drop the same units.
    /// </summary>
    private sealed class ImageDropoutStage(Dropout dropout, int c, int pixels, int maxBatch) : Stage(c * pixels, c * pixels, maxBatch)
    {
        private readonly float[] mask = new float[maxBatch * c * pixels];
        private readonly float[] drawn = new float[c * pixels];   // one example's mask in NCHW order

        public override bool HasTrainableParameters => false;

        public override void Forward(float[] x, int n)
        {
            for (int i = 0; i < n; i++)
            {
                Tensor.DrawDropoutMask(drawn, dropout.P, dropout.Generator);
                ChannelsLast.TransposeEach(mask.AsSpan(i * InSize, InSize), drawn, 1, c, pixels);
            }
            int count = n * InSize;
            System.Numerics.Tensors.TensorPrimitives.Multiply(x.AsSpan(0, count), mask.AsSpan(0, count), Output.AsSpan(0, count));
        }

        public override void Backward(float[] x, float[]? dx, int n)
        {
            int count = n * InSize;
            if (dx is not null) System.Numerics.Tensors.TensorPrimitives.Multiply(Delta.AsSpan(0, count), mask.AsSpan(0, count), dx.AsSpan(0, count));
        }
    }

    /// <summary>
    /// An activation that has no Dense, Conv2d or BatchNorm output pass to fuse into (after pooling, dropout, a layout
    /// change, another activation, or first in the model): A = act(X), dX = dA ⊙ act'(A), element-wise, so the same in
    /// any layout.
    /// </summary>
    private sealed class ActivationStage : ActivatedStage
    {
        public override bool HasTrainableParameters => false;

        public ActivationStage(int size, ActivationKind act, float slope, int maxBatch) : base(size, size, maxBatch)
        {
            (Act, Slope) = (act, slope);
        }

        public override void Forward(float[] x, int n)
        {
            x.AsSpan(0, n * InSize).CopyTo(Output);
            DenseKernels.BiasActivateRows(Output, [], n, InSize, Act, Slope);
        }

        public override void Backward(float[] x, float[]? dx, int n)
        {
            if (dx is not null) DenseKernels.ActivationBackward(dx, Delta, Output, n * InSize, Act, Slope);
        }
    }
}
