using Backprop.Data;
using Backprop.Kernels;
using Backprop.Nn;

namespace Backprop.Training;

/// <summary>
/// A training step compiled from a feed-forward network: forward, loss and backward as fused kernel calls over
/// buffers allocated once, so a steady-state step allocates nothing and records no graph. <see cref="Trainer"/> uses
/// it whenever the model and loss allow; every other model trains through the autograd graph. Its forward slice, in
/// evaluation mode, is also the compiled inference path (<see cref="TryCreateForward"/>, used by <see cref="Predictor"/>).
/// </summary>
/// <remarks>
/// <para>Supported: a <see cref="Sequential"/> (nested allowed) of <see cref="Dense"/>, <see cref="BatchNorm1d"/> and
/// <see cref="Dropout"/> layers and the activations sigmoid, tanh, relu, leaky_relu (slope ≥ 0) and identity (fused
/// into the Dense or BatchNorm before them where there is one); and in front of them an image part of
/// <see cref="Reshape"/> to [C, H, W], <see cref="Conv2d"/>, <see cref="ConvTranspose2d"/>, <see cref="BatchNorm2d"/>,
/// <see cref="MaxPool2d"/>, <see cref="AvgPool2d"/>, <see cref="Dropout"/>, the same activations, and
/// <see cref="Flatten"/> — e.g. the model language's
/// <c>conv(32,3,pad=1)-batchnorm-relu-maxpool(2)-conv(64,3,pad=1)-batchnorm-relu-maxpool(2)-flatten-dense(128)-relu-dropout(0.3)-dense(10)</c>
/// or the convolutional autoencoder's
/// <c>conv(16,3,stride=2,pad=1)-relu-conv(32,3,stride=2,pad=1)-relu-convtranspose(16,3,stride=2,pad=1,outpad=1)-relu-convtranspose(1,3,stride=2,pad=1,outpad=1)-sigmoid-flatten</c>.
/// BatchNorm layers train with batch statistics and update their running statistics, as in training mode.
/// Trained with <see cref="CrossEntropyLoss"/> on class indices (with or without class weights, label smoothing, an
/// ignored index and any reduction), which needs a Dense layer last, or with MSE / half-MSE on real targets, which
/// takes any last layer that gives rows (an image decoder ends with a Flatten).
/// Per batch of n rows, for layers l = 1..L with input A₀ = X:</para>
/// <code>
/// forward   Z_l = A_{l−1}·W_l + b_l,  A_l = act_l(Z_l)                     (DenseKernels.Forward, bias+act fused)
/// loss      dA_L = (softmax(A_L) − onehot)/n    or  2(A_L − T)/(n·k) (MSE)   (fused with the loss value)
/// backward  dZ_l = dA_l ⊙ act_l'(A_l);  ∂E/∂W_l = A_{l−1}ᵀ·dZ_l;  ∂E/∂b_l = Σ_rows dZ_l;  dA_{l−1} = dZ_l·W_lᵀ
/// </code>
/// <para>This is the seeds' matrix form of backpropagation (<c>O_delta</c>, <c>H_delta</c>, weight updates) with the
/// same arithmetic as the autograd ops (tests compare the two); dA₀ is never formed, since no input needs it.
/// Images are kept channels-last inside the plan, so that a convolution is the dense step above applied to every
/// output pixel's receptive field (im2col) and its output needs no transpose; Flatten restores the model's NCHW
/// feature order. Gradients land in each parameter's <see cref="Tensor.Grad"/>, in tensors the plan owns and reuses,
/// so <see cref="Optim.Optimizer.Step"/> works unchanged.</para>
/// </remarks>
internal sealed partial class TrainingPlan
{
    private enum LossKind { CrossEntropy, MeanSquared, HalfMeanSquared }

    private readonly Stage[] stages;
    private readonly LossKind lossKind;
    private readonly float[] input;
    private readonly float[] targets;
    private readonly int[] labels;

    private TrainingPlan(Stage[] stages, LossKind lossKind, int inFeatures, int maxBatch)
    {
        this.stages = stages;
        this.lossKind = lossKind;
        MaxBatch = maxBatch;
        input = new float[maxBatch * inFeatures];
        int outputs = stages[^1].OutSize;
        targets = lossKind == LossKind.CrossEntropy ? [] : new float[maxBatch * outputs];
        labels = lossKind == LossKind.CrossEntropy ? new int[maxBatch] : [];
    }

    /// <summary>The largest batch a step accepts.</summary>
    public int MaxBatch { get; }

    /// <summary>
    /// Most threads the stages' own parallel parts use (default <see cref="Gemm.MaxThreads"/>): convolution chunks,
    /// pooling and layout work per image, batch-norm blocks. Results do not depend on it, which tests check by setting
    /// another.
    /// </summary>
    internal int Threads
    {
        set
        {
            foreach (var stage in stages) stage.Threads = value;
        }
    }

    /// <summary>
    /// Compiles a step for <paramref name="model"/> trained with <paramref name="loss"/> on <paramref name="data"/>,
    /// or returns null (with the reason) when the model, loss or targets need the general autograd path.
    /// <paramref name="imageOutputAsRows"/>: a model that ends on an image [C, H, W] gives its NCHW rows to an MSE, as
    /// a caller that reshapes the output to the targets' rows does (<see cref="Generative.ReconstructionTrainer"/>);
    /// without it (<see cref="Trainer"/>, whose loss takes the output as it is) such a model is refused.
    /// </summary>
    public static TrainingPlan? TryCreate(Module model, ILoss loss, Dataset data, int maxBatch, out string? reason, bool imageOutputAsRows = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(data);
        LossKind? kind = loss switch
        {
            CrossEntropyLoss when data.IsClassification => LossKind.CrossEntropy,
            MeanSquaredError { Half: false } when !data.IsClassification => LossKind.MeanSquared,
            MeanSquaredError { Half: true } when !data.IsClassification => LossKind.HalfMeanSquared,
            _ => null,
        };
        if (kind is null)
        {
            reason = $"the loss '{loss.Name}' on {(data.IsClassification ? "class labels" : "real targets")} is not in the compiled step " +
                "(it takes cross_entropy on class labels, mse or half_mse on real targets)";
            return null;
        }
        int hookVersion = HookRegistry.Version;
        var gradients = new Gradients();
        // Rows of the data's features; NCHW images when the model starts with an image layer and the data's examples
        // have the shape [C, H, W].
        var start = InputOf(model, data.SampleShape) is { Image: not null } image && image.Features == data.NumFeatures
            ? image : new PlanInput(data.NumFeatures, null);
        var stages = Compile(model, start, maxBatch, gradients, forwardOnly: false, out var outputShape, out reason);
        if (stages is null) return null;
        // Cross-entropy's fused softmax reads the logits of a Dense layer. MSE reads any output rows: the gradient at
        // the output feeds the last stage's backward whatever it is (an image decoder ends with a Flatten, whose
        // layout stage gives back the NCHW order the targets have).
        if (kind == LossKind.CrossEntropy && stages[^1] is not DenseStage)
        {
            reason = $"the model ends with {LastLayer(model)}, but the compiled step for {loss.Name} must end with a Dense layer";
            return null;
        }
        if (outputShape is [var c, var h, var w] && imageOutputAsRows && kind != LossKind.CrossEntropy)
            stages = [.. stages, new LayoutStage(h * w, c, maxBatch)];   // [HW, C] → [C, HW]: the image's NCHW row
        else if (outputShape.Length != 1)
        {
            reason = $"the model ends on an image [{string.Join(", ", outputShape)}], but the compiled step's loss takes rows (end it with a Flatten)";
            return null;
        }
        gradients.Finish();
        foreach (var stage in stages) stage.AllocateBackward();
        int outputs = stages[^1].OutSize;
        if (kind == LossKind.CrossEntropy ? outputs != data.NumClasses || outputs < 2 : outputs != data.NumOutputs)
        {
            reason = kind == LossKind.CrossEntropy
                ? $"the model's {outputs} outputs do not match the data's {data.NumClasses} classes"
                : $"the model's {outputs} outputs do not match the data's {data.NumOutputs} targets";
            return null;
        }
        if (loss is CrossEntropyLoss { WeightArray: { } weight } && weight.Length != outputs)
        {
            reason = $"cross_entropy has {weight.Length} class weights but the model has {outputs} outputs";
            return null;
        }
        var plan = new TrainingPlan(stages, kind.Value, data.NumFeatures, maxBatch)
        {
            CrossEntropyOptions = loss is CrossEntropyLoss { IsPlain: false } options ? options : null,
        };
        plan.WatchHooks(model, hookVersion);
        return plan;
    }

    /// <summary>
    /// Lets data-parallel ranks form dense layers' weight gradients from shared factors (<see cref="IFactorSharing"/>),
    /// for each dense layer whose weight they take; call once, before the first step, alike on every rank.
    /// </summary>
    public void ShareFactors(IFactorSharing sharing)
    {
        foreach (var stage in stages)
            if (stage is DenseStage dense) dense.ShareFactors(sharing, MaxBatch);
    }

    // The stages for the model's layers, tracking the running shape: flat [F], or an image [C, H, W] held
    // channels-last. Null (with the reason) at the first layer the plan cannot express. Forward-only (evaluation
    // mode): dropout is the identity and takes no stage, batch norm uses its running statistics, softmax is a layer
    // like any other activation (on flat rows), and a model that ends on an image gets its NCHW layout back;
    // sampleShape is then the shape of one output.
    private static Stage[]? Compile(Module model, PlanInput start, int maxBatch, Gradients gradients, bool forwardOnly,
        out int[] sampleShape, out string? reason)
    {
        sampleShape = [];
        if (model.HooksReason(training: !forwardOnly) is { } hooked)
        {
            reason = hooked;
            return null;
        }
        var stages = new List<Stage>();
        int flat = start.Features;
        (int C, int H, int W)? image = start.Image;
        if (image is { } first) stages.Add(new LayoutStage(first.C, first.H * first.W, maxBatch));   // [C, HW] → [HW, C]
        foreach (var (path, module) in Sequential.Leaves(model))
        {
            switch (module)
            {
                case Dropout when forwardOnly:
                    continue;
                case Dense dense when image is null && dense.InFeatures == flat:
                    stages.Add(new DenseStage(dense, gradients, maxBatch));
                    flat = dense.OutFeatures;
                    continue;
                case Dropout dropout when image is null:
                    stages.Add(new DropoutStage(dropout, flat, maxBatch));
                    continue;
                case Reshape reshape when image is null && reshape.SampleShape.Count == 3 && Product(reshape.SampleShape) == flat:
                    image = (reshape.SampleShape[0], reshape.SampleShape[1], reshape.SampleShape[2]);
                    stages.Add(new LayoutStage(image.Value.C, image.Value.H * image.Value.W, maxBatch));   // [C, HW] → [HW, C]
                    continue;
                case Conv2d conv when image is { } im && conv.InChannels == im.C
                    && im.H + 2 * conv.Padding >= conv.KernelSize && im.W + 2 * conv.Padding >= conv.KernelSize:
                    var cs = new ConvStage(conv, gradients, im.H, im.W, maxBatch);
                    stages.Add(cs);
                    image = (conv.OutChannels, cs.OH, cs.OW);
                    continue;
                case ConvTranspose2d up when image is { } im && up.InChannels == im.C && up.OutputSize(im.H) >= 1 && up.OutputSize(im.W) >= 1:
                    var ts = new ConvTransposeStage(up, gradients, im.H, im.W, maxBatch);
                    stages.Add(ts);
                    image = (up.OutChannels, ts.OH, ts.OW);
                    continue;
                case MaxPool2d pool when image is { } im && im.H >= pool.KernelSize && im.W >= pool.KernelSize:
                    if (pool.Stride == pool.KernelSize && stages[^1] is ConvStage { HasPool: false } unpooled)
                    {
                        // A pool whose windows tile the image fuses into the convolution just before it (see ConvStage).
                        var fused = unpooled.WithPool(pool.KernelSize, maxBatch);
                        stages[^1] = fused;
                        image = (im.C, fused.OH, fused.OW);
                        continue;
                    }
                    var ps = new MaxPoolStage(im.C, im.H, im.W, pool.KernelSize, pool.Stride, maxBatch);
                    stages.Add(ps);
                    image = (im.C, ps.OH, ps.OW);
                    continue;
                case Flatten or Reshape when image is { } im && (module is Flatten || ((Reshape)module).SampleShape is [var f] && f == im.C * im.H * im.W):
                    stages.Add(new LayoutStage(im.H * im.W, im.C, maxBatch));   // [HW, C] → [C, HW]
                    flat = im.C * im.H * im.W;
                    image = null;
                    continue;
                case BatchNorm2d bn when image is { } im && bn.Features == im.C:
                    stages.Add(new BatchNormStage(bn, gradients, im.H * im.W, maxBatch) { UsesRunningStatistics = forwardOnly });
                    continue;
                case BatchNorm1d bn when image is null && bn.Features == flat:
                    stages.Add(new BatchNormStage(bn, gradients, 1, maxBatch) { UsesRunningStatistics = forwardOnly });
                    continue;
                case AvgPool2d pool when image is { } im && im.H >= pool.KernelSize && im.W >= pool.KernelSize:
                    var avg = new AvgPoolStage(im.C, im.H, im.W, pool.KernelSize, pool.Stride, maxBatch);
                    stages.Add(avg);
                    image = (im.C, avg.OH, avg.OW);
                    continue;
                case Dropout dropout when image is { } im:
                    stages.Add(new ImageDropoutStage(dropout, im.C, im.H * im.W, maxBatch));
                    continue;
            }
            // An activation fuses into the Dense, Conv2d or BatchNorm stage just before it, if that has none yet, and
            // is a stage of its own anywhere else. In training, softmax is left to the loss, and a negative leaky slope
            // would make the sign of the output not that of the input, which the backward (written in terms of the
            // output) relies on. Forward-only, softmax over a row's features fuses into a Dense only (the
            // normalising pass has no softmax), and is not taken on an image (the graph's runs over the last axis, W).
            if (Activation.KernelKind(module) is var (act, slope)
                && (forwardOnly ? act != ActivationKind.Softmax || image is null : act != ActivationKind.Softmax && slope >= 0f))
            {
                if (act == ActivationKind.Identity) continue;
                if (stages.Count > 0 && stages[^1] is ActivatedStage { TakesActivation: true } last
                    && (act != ActivationKind.Softmax || last is DenseStage))
                    (last.Act, last.Slope) = (act, slope);
                else
                    stages.Add(new ActivationStage(image is { } img ? img.C * img.H * img.W : flat, act, slope, maxBatch));
                continue;
            }
            reason = $"{module}{Where(path)} on {(image is { } i ? $"an image [{i.C}, {i.H}, {i.W}]" : $"rows of {flat} features")} is not in the compiled step";
            return null;
        }
        if (stages.Count == 0)
        {
            reason = "the model has no layers";
            return null;
        }
        if (image is { } end)
        {
            // Forward-only, the output gets its NCHW layout back; a training step's loss takes rows, so it refuses
            // this shape (TryCreate).
            if (forwardOnly) stages.Add(new LayoutStage(end.H * end.W, end.C, maxBatch));   // [HW, C] → [C, HW]
            sampleShape = [end.C, end.H, end.W];
        }
        else sampleShape = [stages[^1].OutSize];
        reason = null;
        return [.. stages];
    }

    // Where a layer is, with its path as parameter names spell it (" at '2'", " at '1.0'"), from Sequential.Leaves'
    // "model.2"; a model that is not a Sequential is one layer, the model itself.
    private static string Where(string path) => path.StartsWith("model.", StringComparison.Ordinal) ? $" at '{path[6..]}'" : " (the model itself)";

    private static string LastLayer(Module model)
    {
        var (path, last) = Sequential.Leaves(model)[^1];
        return $"{last}{Where(path)}";
    }

    private static int Product(IReadOnlyList<int> shape)
    {
        int p = 1;
        foreach (var d in shape) p *= d;
        return p;
    }

    /// <summary>The stages' kinds in order (e.g. "ConvStage+pool", "DenseStage"): what a test checks was fused.</summary>
    internal IEnumerable<string> StageKinds => stages.Select(s => s is ConvStage { HasPool: true } ? "ConvStage+pool" : s.GetType().Name);

    /// <summary>
    /// One training step on the rows <paramref name="rows"/> of <paramref name="data"/>: forward, loss, backward.
    /// Leaves ∂(mean loss)/∂p in the <see cref="Tensor.Grad"/> of every parameter that is not frozen (overwritten,
    /// not accumulated across steps; summed over the uses of a shared layer) and returns the summed loss over the
    /// rows and, for classification, how many rows were predicted right.
    /// </summary>
    public (double LossSum, int Correct) Step(Dataset data, ReadOnlySpan<int> rows)
    {
        if (forwardOnly) throw new InvalidOperationException("TrainingPlan: a forward-only plan cannot take a training step.");
        int n = rows.Length;
        if (n < 1 || n > MaxBatch)
            throw new ArgumentOutOfRangeException(nameof(rows), n, $"TrainingPlan: a step takes 1..{MaxBatch} rows.");
        CheckNoNewHooks();
        Gather(data, rows, n);

        float[] x = input;
        foreach (var stage in stages)
        {
            stage.Forward(x, n);
            x = stage.Output;
        }

        // Loss and the gradient at the logits (or outputs).
        var last = stages[^1];
        int outputs = last.OutSize;
        var (lossSum, correct) = lossKind == LossKind.CrossEntropy
            ? CrossEntropyOptions is null ? SoftmaxCrossEntropyKernel.ForwardBackward(last.Delta, last.Output, labels, n, outputs, n)
                : CrossEntropyWithOptions(last, n)
            : (SquaredError(last.Delta, last.Output, n * outputs, lossKind == LossKind.HalfMeanSquared ? 1 : 2, n * outputs) / outputs, 0);

        int first = FirstTrainingStage();
        for (int i = stages.Length - 1; i >= first; i--)
        {
            stages[i].Backward(i == 0 ? input : stages[i - 1].Output, i == first ? null : stages[i - 1].Delta, n);
        }
        return (lossSum, correct);
    }

    // Copies the batch's feature rows into the input buffer, and its labels or target rows into theirs.
    private void Gather(Dataset data, ReadOnlySpan<int> rows, int n)
    {
        int f = data.NumFeatures;
        var features = data.Features.data;
        var t = data.Targets.data;
        for (int r = 0; r < n; r++)
            features.AsSpan(rows[r] * f, f).CopyTo(input.AsSpan(r * f, f));
        if (lossKind == LossKind.CrossEntropy)
        {
            for (int r = 0; r < n; r++) labels[r] = (int)t[rows[r]];
            return;
        }
        int k = stages[^1].OutSize;
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
