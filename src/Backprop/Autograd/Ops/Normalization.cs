using Backprop.Kernels;

namespace Backprop;

// Batch normalisation with its fused closed-form backward (not a graph of a dozen mean/sub/div ops): one node that
// saves the input, the per-channel μ and 1/√(σ² + ε) it used, and γ.
public sealed partial class Tensor
{
    /// <summary>
    /// Batch normalisation over x [N, C, *] (PyTorch's <c>F.batch_norm</c>): each channel c is normalised over its
    /// N·(product of the trailing dimensions) values, <c>y = γ·(x − μ)/√(σ² + ε) + β</c>.
    /// </summary>
    /// <remarks>
    /// Training: μ and σ² are the batch's mean and biased variance, gradients flow through them, and the running
    /// statistics (when given) move towards them in place: <c>running = (1 − momentum)·running + momentum·batch</c>,
    /// using the UNBIASED batch variance σ²·M/(M − 1) for <paramref name="runningVar"/>, as PyTorch does.
    /// Evaluation: μ and σ² are the running statistics, held fixed by the gradient.
    /// </remarks>
    /// <param name="input">x, shape [N, C] or [N, C, ...].</param>
    /// <param name="runningMean">Running mean [C]: updated when training, used when not; may be null when training.</param>
    /// <param name="runningVar">Running variance [C], like <paramref name="runningMean"/>.</param>
    /// <param name="weight">γ [C], or null for 1.</param>
    /// <param name="bias">β [C], or null for 0.</param>
    /// <param name="training">Whether to use (and record) batch statistics.</param>
    /// <param name="momentum">Weight of the new batch in the running statistics.</param>
    /// <param name="eps">ε added to the variance.</param>
    /// <exception cref="ShapeMismatchException">Wrong ranks or sizes, or one value per channel when training.</exception>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
        bool training, float momentum = 0.1f, float eps = 1e-5f)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank < 2)
            throw new ShapeMismatchException($"batch_norm expected input [N, C, *] of rank 2 or more but got {Shapes.Format(input.dims)}.");
        int n = input.dims[0], c = input.dims[1], s = Shapes.Size(input.dims.AsSpan(2));
        CheckChannels(runningMean, "running_mean", c, input);
        CheckChannels(runningVar, "running_var", c, input);
        CheckChannels(weight, "weight", c, input);
        CheckChannels(bias, "bias", c, input);
        if (runningMean is null != runningVar is null)
            throw new ArgumentException("batch_norm: give both running_mean and running_var, or neither.");
        if (!training && runningMean is null)
            throw new ArgumentException("batch_norm: evaluation mode needs running_mean and running_var.");
        if (training && (long)n * s <= 1)
            throw new ShapeMismatchException($"batch_norm expected more than 1 value per channel when training but got input {Shapes.Format(input.dims)}.");

        // Per-channel scratch: rented for the step inside Fit (the node holds mean and invStd until backward).
        var mean = TensorArena.Floats(c);
        var invStd = TensorArena.Floats(c);
        if (training)
        {
            var variance = TensorArena.Floats(c);
            BatchNormKernels.Statistics(mean, variance, input.data, n, c, s);
            BatchNormKernels.InverseStd(invStd, variance, eps);
            if (runningMean is not null) UpdateRunningStatistics(runningMean.data, runningVar!.data, mean, variance, (long)n * s, momentum);
        }
        else
        {
            // Copies: the backward must see the statistics of this call even if the buffers change before it runs.
            runningMean!.data.CopyTo(mean, 0);
            BatchNormKernels.InverseStd(invStd, runningVar!.data, eps);
        }

        var scale = TensorArena.Floats(c);
        var shift = TensorArena.Floats(c);
        BatchNormKernels.ScaleShift(scale, shift, mean, invStd, weight is null ? [] : weight.data, bias is null ? [] : bias.data);
        var y = Empty(input.dims);
        BatchNormKernels.Affine(y.data, input.data, scale, shift, n, c, s);

        if (y.Record("batch_norm", BatchNormBackward, input, weight, bias, weight is null ? Saves.Input0 : Saves.Input0 | Saves.Input1) is { } node)
        {
            node.I0 = (weight is null ? 0 : HasWeight) | (bias is null ? 0 : HasBias) | (training ? Training : 0);
            (node.Buffer0, node.Buffer1) = (mean, invStd);
        }
        return y;
    }

    private const int Training = 8;

    // Inputs X [N, C, *], then γ [C] and β [C] when present (I0 says which, and whether the batch's own statistics were
    // used); the μ and 1/√(σ² + ε) of the forward in Buffer0 and Buffer1.
    private static readonly GradNode.StaticBackward BatchNormBackward = static (node, g) =>
    {
        var input = node.Inputs[0];
        int flags = node.I0;
        var weight = (flags & HasWeight) != 0 ? node.Inputs[1] : null;
        var bias = (flags & HasBias) != 0 ? node.Inputs[^1] : null;
        var (mean, invStd) = (node.Buffer0!, node.Buffer1!);
        int n = input.dims[0], c = input.dims[1], s = Shapes.Size(input.dims.AsSpan(2));
        // dβ = Σ g, dγ = Σ g·x̂ per channel: the parameter gradients, and the training backward's two corrections.
        var dGammaT = Empty(Shapes.Interned([c]));
        var dBetaT = Empty(Shapes.Interned([c]));
        float[] dGamma = dGammaT.data, dBeta = dBetaT.data;
        BatchNormKernels.ParameterGradients(dGamma, dBeta, g.data, input.data, mean, invStd, n, c, s);
        if (input.RequiresGrad)
        {
            var dx = Empty(input.dims);
            ReadOnlySpan<float> gamma = weight is null ? [] : weight.data;
            if ((flags & Training) != 0) BatchNormKernels.BackwardTraining(dx.data, g.data, input.data, mean, invStd, gamma, dGamma, dBeta, n, c, s);
            else BatchNormKernels.BackwardFrozen(dx.data, g.data, invStd, gamma, n, c, s);
            input.AccumulateOwnedGrad(dx);
        }
        if (weight is { RequiresGrad: true }) weight.AccumulateOwnedGrad(dGammaT);
        if (bias is { RequiresGrad: true }) bias.AccumulateOwnedGrad(dBetaT);
    };

    private static void CheckChannels(Tensor? t, string name, int c, Tensor input)
    {
        if (t is not null && (t.Rank != 1 || t.dims[0] != c))
            throw new ShapeMismatchException($"batch_norm: {name} should have shape [{c}] for input {Shapes.Format(input.dims)} but has {Shapes.Format(t.dims)}.");
    }

    /// <summary>
    /// running ← (1 − momentum)·running + momentum·batch, with the unbiased variance σ²·M/(M − 1) of the M values per
    /// channel (normalisation itself uses the biased σ²). The compiled training step updates its statistics here too.
    /// </summary>
    internal static void UpdateRunningStatistics(Span<float> runningMean, Span<float> runningVar, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> variance, long m, float momentum)
    {
        double bessel = (double)m / (m - 1);
        for (int ch = 0; ch < runningMean.Length; ch++)
        {
            runningMean[ch] = (1f - momentum) * runningMean[ch] + momentum * mean[ch];
            runningVar[ch] = (1f - momentum) * runningVar[ch] + momentum * (float)(variance[ch] * bessel);
        }
    }
}
