using Backprop.Kernels;
using Backprop.Nn;

namespace Backprop.Training;

internal sealed partial class TrainingPlan
{
    /// <summary>
    /// Batch normalisation → activation in training mode, on rows [R, C]: a channels-last image batch is R = n·H·W
    /// rows of C channels (BatchNorm2d), a feature batch R = n rows of C = F features (BatchNorm1d), so both are
    /// statistics per column. With μ, σ² the batch's mean and biased variance, invStd = 1/√(σ² + ε) and
    /// x̂ = (x − μ)·invStd:
    /// <code>
    /// forward   A = act(γ·x̂ + β) = act(x·scale + shift);   running ← (1 − m)·running + m·(μ, σ²·R/(R − 1))
    /// backward  G = dA ⊙ act'(A);  dβ = Σ_r G;  dγ = Σ_r G·x̂;  dX = γ·invStd·(G − dβ/R − x̂·dγ/R)
    /// </code>
    /// </summary>
    /// <remarks>
    /// The same statistics, running-estimate update (<see cref="Tensor.UpdateRunningStatistics"/>) and closed-form
    /// backward as <see cref="Tensor.BatchNorm"/>, and num_batches_tracked counts the step as
    /// <see cref="BatchNorm.Forward"/> does. ReLU and leaky ReLU are fused into the normalising pass and their
    /// backward into the gradient-sum pass; sigmoid and tanh take one more pass each way.
    /// </remarks>
    private sealed class BatchNormStage : ActivatedStage
    {
        private readonly BatchNorm bn;
        private readonly int pixels, c;
        private readonly float[] mean, variance, invStd, scale, shift, dGamma, dBeta, coefficients;
        private readonly double[] sums;
        private readonly Tensor? weightGrad, biasGrad;

        public BatchNormStage(BatchNorm bn, int pixels, int maxBatch)
            : base(pixels * bn.Features, pixels * bn.Features, maxBatch)
        {
            this.bn = bn;
            this.pixels = pixels;
            c = bn.Features;
            mean = new float[c];
            variance = new float[c];
            invStd = new float[c];
            scale = new float[c];
            shift = new float[c];
            dGamma = new float[c];
            dBeta = new float[c];
            coefficients = new float[3 * c];
            sums = new double[2 * c];
            weightGrad = bn.Weight is null ? null : Tensor.Zeros(c);
            biasGrad = bn.Bias is null ? null : Tensor.Zeros(c);
        }

        private ReadOnlySpan<float> Gamma => bn.Weight is null ? [] : bn.Weight.AsSpan();

        public override void Forward(float[] x, int n)
        {
            int rows = n * pixels;
            if (rows <= 1)
                throw new ShapeMismatchException($"{bn} expected more than 1 value per channel when training but got a batch of {n}; use batches of 2 or more.");
            bn.NumBatchesTracked.AsSpan()[0] += 1f;
            BatchNormRows.Statistics(mean, variance, x, rows, c, sums);
            BatchNormKernels.InverseStd(invStd, variance, bn.Eps);
            Tensor.UpdateRunningStatistics(bn.RunningMean.AsSpan(), bn.RunningVar.AsSpan(), mean, variance, rows, bn.Momentum);
            BatchNormKernels.ScaleShift(scale, shift, mean, invStd, Gamma, bn.Bias is null ? [] : bn.Bias.AsSpan());
            BatchNormRows.Normalize(Output, x, scale, shift, rows, c, Act, Slope);
        }

        public override void Backward(float[] x, float[]? dx, int n)
        {
            int rows = n * pixels;
            float reluSlope = Act switch
            {
                ActivationKind.Relu => 0f,
                ActivationKind.LeakyRelu => Slope,
                _ => float.NaN,
            };
            if (float.IsNaN(reluSlope)) DenseKernels.ActivationBackward(Delta, Delta, Output, rows * c, Act, Slope);
            BatchNormRows.GradientSums(dGamma, dBeta, Delta, Output, reluSlope, x, mean, invStd, rows, c, sums);
            if (dx is not null) BatchNormRows.BackwardTraining(dx, Delta, x, mean, invStd, Gamma, dGamma, dBeta, rows, c, coefficients);
            if (weightGrad is not null)
            {
                dGamma.CopyTo(weightGrad.AsSpan());
                bn.Weight!.Grad = weightGrad;
            }
            if (biasGrad is not null)
            {
                dBeta.CopyTo(biasGrad.AsSpan());
                bn.Bias!.Grad = biasGrad;
            }
        }
    }
}
