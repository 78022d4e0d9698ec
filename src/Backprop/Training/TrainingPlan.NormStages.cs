using System.Numerics.Tensors;
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
    /// backward into the gradient-sum pass; sigmoid and tanh take one more pass each way. Every pass over the rows is
    /// split into fixed blocks shared by the GEMM worker threads.
    /// </remarks>
    private sealed class BatchNormStage : ActivatedStage
    {
        // The rows are cut into Blocks runs (one when there are few values), each summed on its own and the partial
        // sums added in block order, so the result is the same whether the blocks run on one core or on several.
        private const int Blocks = 8;
        private const int MinValuesToSplit = 1 << 15;

        private enum Phase { Sum, Deviations, Normalize, GradientSums, InputGradient }

        private readonly BatchNorm bn;
        private readonly int pixels, c;
        private readonly float[] mean, variance, invStd, scale, shift, dGamma, dBeta, coefficients;
        private readonly double[] mu, partials;   // partials: [Blocks, 2C]
        private readonly GradientUse? weight, bias;
        private readonly Action<int> runPart;
        private float[] x = [];
        private float[]? dx;
        private int rows, blocks, parts;
        private float reluSlope;
        private Phase phase;

        public BatchNormStage(BatchNorm bn, Gradients gradients, int pixels, int maxBatch)
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
            mu = new double[c];
            partials = new double[Blocks * 2 * c];
            weight = bn.Weight is null ? null : gradients.For(bn.Weight);
            bias = bn.Bias is null ? null : gradients.For(bn.Bias);
            runPart = RunPart;
        }

        /// <summary>
        /// Evaluation mode (a forward-only plan): normalise with the running statistics, as
        /// <see cref="Tensor.BatchNorm"/> does when not training (scale = γ/√(running_var + ε), shift = β − running_mean·scale),
        /// and change nothing in the layer.
        /// </summary>
        public bool UsesRunningStatistics;

        public override void Forward(float[] x, int n)
        {
            rows = n * pixels;
            if (UsesRunningStatistics)
            {
                this.x = x;
                blocks = (long)rows * c >= MinValuesToSplit ? Math.Min(Blocks, rows) : 1;
                parts = Math.Clamp(Threads, 1, blocks);
                BatchNormKernels.InverseStd(invStd, bn.RunningVar.AsSpan(), bn.Eps);
                BatchNormKernels.ScaleShift(scale, shift, bn.RunningMean.AsSpan(), invStd, Gamma, bn.Bias is null ? [] : bn.Bias.AsSpan());
                Run(Phase.Normalize);
                return;
            }
            if (rows <= 1)
                throw new ShapeMismatchException($"{bn} expected more than 1 value per channel when training but got a batch of {n}; use batches of 2 or more.");
            bn.NumBatchesTracked.AsSpan()[0] += 1f;
            this.x = x;
            blocks = (long)rows * c >= MinValuesToSplit ? Math.Min(Blocks, rows) : 1;
            parts = Math.Clamp(Threads, 1, blocks);

            // μ = Σx / R in double, then σ² = Σ(x − μ)² / R: the two passes of BatchNormKernels.Statistics.
            Run(Phase.Sum);
            AddPartials(mu, 0);
            for (int j = 0; j < c; j++) mu[j] /= rows;
            Run(Phase.Deviations);
            for (int j = 0; j < c; j++)
            {
                double sq = 0;
                for (int b = 0; b < blocks; b++) sq += partials[(2 * b + 1) * c + j];
                mean[j] = (float)mu[j];
                variance[j] = (float)(sq / rows);
            }
            BatchNormKernels.InverseStd(invStd, variance, bn.Eps);
            Tensor.UpdateRunningStatistics(bn.RunningMean.AsSpan(), bn.RunningVar.AsSpan(), mean, variance, rows, bn.Momentum);
            BatchNormKernels.ScaleShift(scale, shift, mean, invStd, Gamma, bn.Bias is null ? [] : bn.Bias.AsSpan());
            Run(Phase.Normalize);
        }

        public override void Backward(float[] x, float[]? dx, int n)
        {
            (this.x, this.dx) = (x, dx);
            reluSlope = Act switch
            {
                ActivationKind.Relu => 0f,
                ActivationKind.LeakyRelu => Slope,
                _ => float.NaN,
            };
            Run(Phase.GradientSums);
            for (int j = 0; j < c; j++)
            {
                double sumG = 0, sumGx = 0;
                for (int b = 0; b < blocks; b++)
                {
                    sumG += partials[2 * b * c + j];
                    sumGx += partials[(2 * b + 1) * c + j];
                }
                dBeta[j] = (float)sumG;
                dGamma[j] = (float)(sumGx * invStd[j]);
            }
            if (dx is not null)
            {
                BatchNormRows.BackwardCoefficients(coefficients, invStd, Gamma, dGamma, dBeta, rows, c);
                Run(Phase.InputGradient);
            }
            Deliver(weight, dGamma);
            Deliver(bias, dBeta);
        }

        public override bool HasTrainableParameters => weight is { Wanted: true } || bias is { Wanted: true };

        // Writes (or, for a layer used again later in the model, adds) ∂E/∂γ or ∂E/∂β unless the parameter is frozen.
        private static void Deliver(GradientUse? use, ReadOnlySpan<float> gradient)
        {
            if (use is not { Wanted: true }) return;
            if (use.Accumulate) TensorPrimitives.Add(use.Span, gradient, use.Span);
            else gradient.CopyTo(use.Span);
            use.Publish();
        }

        private ReadOnlySpan<float> Gamma => bn.Weight is null ? [] : bn.Weight.AsSpan();

        // sum[j] = Σ_blocks partials[block][half·C + j], in block order.
        private void AddPartials(Span<double> sum, int half)
        {
            sum.Clear();
            for (int b = 0; b < blocks; b++)
                for (int j = 0; j < c; j++) sum[j] += partials[(2 * b + half) * c + j];
        }

        private void Run(Phase phase)
        {
            this.phase = phase;
            if (parts > 1 && GemmWorkers.TryRun(parts, runPart)) return;
            for (int t = 0; t < parts; t++) RunPart(t);
        }

        // Blocks part, part + parts, ... of the current phase.
        private void RunPart(int part)
        {
            for (int b = part; b < blocks; b += parts)
            {
                int r0 = (int)((long)b * rows / blocks), r1 = (int)((long)(b + 1) * rows / blocks), count = (r1 - r0) * c;
                var xs = x.AsSpan(r0 * c, count);
                var sums = partials.AsSpan(2 * b * c, c);
                var second = partials.AsSpan((2 * b + 1) * c, c);
                switch (phase)
                {
                    case Phase.Sum:
                        sums.Clear();
                        BatchNormRows.SumColumns(sums, xs, r1 - r0, c);
                        break;
                    case Phase.Deviations:
                        second.Clear();
                        BatchNormRows.SumSquaredDeviations(second, xs, mu, r1 - r0, c);
                        break;
                    case Phase.Normalize:
                        BatchNormRows.Normalize(Output.AsSpan(r0 * c, count), xs, scale, shift, r1 - r0, c, Act, Slope);
                        break;
                    case Phase.GradientSums:
                        var g = Delta.AsSpan(r0 * c, count);
                        var y = Output.AsSpan(r0 * c, count);
                        if (float.IsNaN(reluSlope)) DenseKernels.ActivationBackward(g, g, y, count, Act, Slope);
                        sums.Clear();
                        second.Clear();
                        BatchNormRows.SumGradients(sums, second, g, y, reluSlope, xs, mean, r1 - r0, c);
                        break;
                    case Phase.InputGradient:
                        BatchNormRows.BackwardRows(dx.AsSpan(r0 * c, count), Delta.AsSpan(r0 * c, count), xs, mean, coefficients, r1 - r0, c);
                        break;
                }
            }
        }
    }
}
