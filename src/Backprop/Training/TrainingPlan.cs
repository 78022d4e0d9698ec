using Backprop.Data;
using Backprop.Kernels;
using Backprop.Nn;

namespace Backprop.Training;

/// <summary>
/// A training step compiled from a dense network: forward, loss and backward as fused kernel calls over buffers
/// allocated once, so a steady-state step allocates nothing and records no graph. <see cref="Trainer"/> uses it
/// whenever the model and loss allow; every other model trains through the autograd graph.
/// </summary>
/// <remarks>
/// <para>Supported: a <see cref="Sequential"/> (nested allowed) of <see cref="Dense"/> layers, each optionally followed
/// by one of sigmoid, tanh, relu, leaky_relu or identity; trained with <see cref="Losses.CrossEntropy"/> on class
/// indices, or with MSE / half-MSE on real targets. Per batch of n rows, for layers l = 1..L with input A₀ = X:</para>
/// <code>
/// forward   Z_l = A_{l−1}·W_l + b_l,  A_l = act_l(Z_l)                     (DenseKernels.Forward, bias+act fused)
/// loss      dA_L = (softmax(A_L) − onehot)/n    or  2(A_L − T)/(n·k) (MSE)   (fused with the loss value)
/// backward  dZ_l = dA_l ⊙ act_l'(A_l);  ∂E/∂W_l = A_{l−1}ᵀ·dZ_l;  ∂E/∂b_l = Σ_rows dZ_l;  dA_{l−1} = dZ_l·W_lᵀ
/// </code>
/// <para>This is the seeds' matrix form of backpropagation (<c>O_delta</c>, <c>H_delta</c>, weight updates) with the
/// same arithmetic as the autograd ops (tests compare the two); dA₀ is never formed, since no input needs it.
/// Gradients land in each parameter's <see cref="Tensor.Grad"/>, in tensors the plan owns and reuses, so
/// <see cref="Optim.Optimizer.Step"/> works unchanged.</para>
/// </remarks>
internal sealed class TrainingPlan
{
    // One fused layer: its input width, weights, activation, and the buffers for its output A and gradient dA/dZ.
    private sealed class Layer(Dense dense, ActivationKind act, float slope, int maxBatch)
    {
        public readonly Dense Dense = dense;
        public ActivationKind Act = act;
        public float Slope = slope;
        public readonly float[] Output = new float[maxBatch * dense.OutFeatures];   // A_l
        public readonly float[] Delta = new float[maxBatch * dense.OutFeatures];    // dA_l, then dZ_l in place
        public readonly Tensor WeightGrad = Tensor.Zeros(dense.InFeatures, dense.OutFeatures);
        public readonly Tensor? BiasGrad = dense.Bias is null ? null : Tensor.Zeros(dense.OutFeatures);
    }

    private enum LossKind { CrossEntropy, MeanSquared, HalfMeanSquared }

    private readonly Layer[] layers;
    private readonly LossKind lossKind;
    private readonly float[] input;
    private readonly float[] targets;
    private readonly int[] labels;

    private TrainingPlan(Layer[] layers, LossKind lossKind, int maxBatch)
    {
        this.layers = layers;
        this.lossKind = lossKind;
        MaxBatch = maxBatch;
        input = new float[maxBatch * layers[0].Dense.InFeatures];
        int outputs = layers[^1].Dense.OutFeatures;
        targets = lossKind == LossKind.CrossEntropy ? [] : new float[maxBatch * outputs];
        labels = lossKind == LossKind.CrossEntropy ? new int[maxBatch] : [];
    }

    /// <summary>The largest batch a step accepts.</summary>
    public int MaxBatch { get; }

    /// <summary>
    /// Compiles a step for <paramref name="model"/> trained with <paramref name="loss"/> on <paramref name="data"/>,
    /// or returns null (with the reason) when the model, loss or targets need the general autograd path.
    /// </summary>
    public static TrainingPlan? TryCreate(Module model, ILoss loss, Dataset data, int maxBatch, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(data);
        reason = null;
        LossKind? kind = loss switch
        {
            CrossEntropyLoss when data.IsClassification => LossKind.CrossEntropy,
            MeanSquaredError { Half: false } when !data.IsClassification => LossKind.MeanSquared,
            MeanSquaredError { Half: true } when !data.IsClassification => LossKind.HalfMeanSquared,
            _ => null,
        };
        if (kind is null)
        {
            reason = $"loss '{loss.Name}' on {(data.IsClassification ? "class labels" : "real targets")}";
            return null;
        }

        var layers = new List<Layer>();
        foreach (var (path, module) in Sequential.Leaves(model))
        {
            if (module is Dense dense)
            {
                if (layers.Count > 0 && layers[^1].Dense.OutFeatures != dense.InFeatures)
                {
                    reason = $"{dense} at '{path}' does not chain";
                    return null;
                }
                layers.Add(new Layer(dense, ActivationKind.Identity, 0f, maxBatch));
                continue;
            }
            if (ElementwiseActivation(module) is not var (act, slope))
            {
                reason = $"{module} at '{path}'";
                return null;
            }
            if (act == ActivationKind.Identity) continue;
            if (layers.Count == 0 || layers[^1].Act != ActivationKind.Identity)
            {
                reason = $"{module} at '{path}' does not follow a Dense layer";
                return null;
            }
            layers[^1].Act = act;
            layers[^1].Slope = slope;
        }
        if (layers.Count == 0)
        {
            reason = "the model has no Dense layer";
            return null;
        }
        if (layers[0].Dense.InFeatures != data.NumFeatures)
        {
            reason = $"the first layer takes {layers[0].Dense.InFeatures} inputs but the data has {data.NumFeatures} features";
            return null;
        }
        int outputs = layers[^1].Dense.OutFeatures;
        if (kind == LossKind.CrossEntropy ? outputs != data.NumClasses || outputs < 2 : outputs != data.NumOutputs)
        {
            reason = $"the model's {outputs} outputs do not match the data";
            return null;
        }
        return new TrainingPlan([.. layers], kind.Value, maxBatch);
    }

    /// <summary>
    /// One training step on the rows <paramref name="rows"/> of <paramref name="data"/>: forward, loss, backward.
    /// Leaves ∂(mean loss)/∂p in every parameter's <see cref="Tensor.Grad"/> (overwritten, not accumulated) and
    /// returns the summed loss over the rows and, for classification, how many rows were predicted right.
    /// </summary>
    public (double LossSum, int Correct) Step(Dataset data, ReadOnlySpan<int> rows)
    {
        int n = rows.Length;
        if (n < 1 || n > MaxBatch)
            throw new ArgumentOutOfRangeException(nameof(rows), n, $"TrainingPlan: a step takes 1..{MaxBatch} rows.");
        Gather(data, rows, n);

        // Forward: A_l = act(A_{l−1}·W_l + b_l).
        ReadOnlySpan<float> x = input;
        foreach (var l in layers)
        {
            var d = l.Dense;
            DenseKernels.Forward(l.Output, x, d.Weight.AsSpan(), d.Bias is null ? [] : d.Bias.AsSpan(), n, d.InFeatures, d.OutFeatures, l.Act, l.Slope);
            x = l.Output;
        }

        // Loss and dA_L.
        var last = layers[^1];
        int outputs = last.Dense.OutFeatures;
        var (lossSum, correct) = lossKind == LossKind.CrossEntropy
            ? SoftmaxCrossEntropyKernel.ForwardBackward(last.Delta, last.Output, labels, n, outputs, n)
            : (SquaredError(last.Delta, last.Output, n * outputs, lossKind == LossKind.HalfMeanSquared ? 1 : 2, n * outputs) / outputs, 0);

        // Backward, last layer first: dZ_l = dA_l ⊙ act'(A_l); gradients of W_l, b_l; dA_{l−1} = dZ_l·W_lᵀ.
        for (int i = layers.Length - 1; i >= 0; i--)
        {
            var l = layers[i];
            var d = l.Dense;
            int size = n * d.OutFeatures;
            DenseKernels.ActivationBackward(l.Delta, l.Delta, l.Output, size, l.Act, l.Slope);
            ReadOnlySpan<float> layerInput = i == 0 ? input : layers[i - 1].Output;
            Span<float> dx = i == 0 ? [] : layers[i - 1].Delta;
            DenseKernels.Backward(l.WeightGrad.AsSpan(), l.BiasGrad is null ? [] : l.BiasGrad.AsSpan(), dx,
                l.Delta, layerInput, d.Weight.AsSpan(), n, d.InFeatures, d.OutFeatures);
            d.Weight.Grad = l.WeightGrad;
            if (d.Bias is not null) d.Bias.Grad = l.BiasGrad;
        }
        return (lossSum, correct);
    }

    // The activations whose derivative is element-wise in the output (so a fused backward needs only A_l).
    private static (ActivationKind, float)? ElementwiseActivation(Module module) => module switch
    {
        Identity => (ActivationKind.Identity, 0f),
        Relu => (ActivationKind.Relu, 0f),
        LeakyRelu l when l.Slope >= 0f => (ActivationKind.LeakyRelu, l.Slope),
        Sigmoid => (ActivationKind.Sigmoid, 0f),
        Tanh => (ActivationKind.Tanh, 0f),
        _ => null,
    };

    // Copies the batch's feature rows into the input buffer, and its labels or target rows into theirs.
    private void Gather(Dataset data, ReadOnlySpan<int> rows, int n)
    {
        int f = layers[0].Dense.InFeatures;
        var features = data.Features.data;
        var t = data.Targets.data;
        for (int r = 0; r < n; r++)
            features.AsSpan(rows[r] * f, f).CopyTo(input.AsSpan(r * f, f));
        if (lossKind == LossKind.CrossEntropy)
        {
            for (int r = 0; r < n; r++) labels[r] = (int)t[rows[r]];
            return;
        }
        int k = layers[^1].Dense.OutFeatures;
        for (int r = 0; r < n; r++)
            t.AsSpan(rows[r] * k, k).CopyTo(targets.AsSpan(r * k, k));
    }

    // E = Σ (a − t)² / meanOver (halved for half-MSE, factor 1); writes ∂E/∂a = factor·(a − t)/meanOver and returns
    // Σ (a − t)² (halved for half-MSE). The caller divides by the output width to get E summed over rows.
    private double SquaredError(Span<float> delta, ReadOnlySpan<float> output, int count, int factor, int meanOver)
    {
        double sum = 0;
        float scale = (float)factor / meanOver;
        for (int i = 0; i < count; i++)
        {
            float diff = output[i] - targets[i];
            sum += (double)diff * diff;
            delta[i] = scale * diff;
        }
        return factor == 1 ? sum / 2 : sum;
    }
}
