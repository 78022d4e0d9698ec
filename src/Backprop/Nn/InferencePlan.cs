using Backprop.Kernels;

namespace Backprop.Nn;

/// <summary>
/// A graph-free forward pass compiled from a model: each step is one fused kernel call
/// <c>act(X·W + b)</c> into preallocated ping-pong buffers (or a batch norm's per-feature <c>act(x·a + b)</c> in
/// place), so a call allocates nothing and records no graph.
/// </summary>
/// <remarks>
/// <para>Supported models: a <see cref="Dense"/> layer, a parameterless activation (<see cref="Sigmoid"/>,
/// <see cref="Tanh"/>, <see cref="Relu"/>, <see cref="LeakyRelu"/>, <see cref="Softmax"/>, <see cref="Identity"/>),
/// <see cref="BatchNorm1d"/> (evaluation mode: running statistics, whatever the model's mode), <see cref="Dropout"/>
/// (the identity at inference), or a <see cref="Sequential"/> of these (nested Sequentials allowed) containing at
/// least one Dense layer.</para>
/// <para>The plan reads the layers' live weight and bias storage on every call (nothing is copied), so after a
/// training step (which also moves batch norms' running statistics) or a load of new weights, the next <see cref="Run(ReadOnlySpan{float}, int)"/> uses them.
/// Results equal <c>model.Predict</c> bit for bit with the SIMD GEMM kernels (the same sums in the same order);
/// under <c>BACKPROP_GEMM=scalar</c> the packed scalar GEMM sums in another order, so they agree to rounding.</para>
/// <para>Not thread-safe: a plan owns its buffers, so use one plan per thread (plans over the same model may run
/// concurrently, as long as nothing trains it meanwhile). <see cref="Predictor"/> wraps plans for sharing between
/// threads, and falls back to the graph for models a plan cannot run; <c>Predict</c> and <c>Evaluate</c> use it.</para>
/// </remarks>
public sealed class InferencePlan
{
    // One step: y = act(x·W + b) when Layer is set; y = act(x·a + b) per feature, in place, when Norm is set (a and b
    // from its live running statistics, into the step's own Scale/Shift); else act applied in place.
    private readonly record struct Step(Dense? Layer, BatchNorm1d? Norm, ActivationKind Act, float Slope, float[]? Scale = null, float[]? Shift = null);

    private readonly Step[] steps;
    private readonly float[] ping, pong;

    private InferencePlan(Step[] steps, int inFeatures, int outFeatures, int maxBatch, int widest)
    {
        this.steps = steps;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        MaxBatch = maxBatch;
        ping = new float[maxBatch * widest];
        pong = new float[maxBatch * widest];
    }

    /// <summary>Size of each input row.</summary>
    public int InFeatures { get; }

    /// <summary>Size of each output row.</summary>
    public int OutFeatures { get; }

    /// <summary>The largest batch a call accepts (the buffers hold this many rows).</summary>
    public int MaxBatch { get; }

    /// <summary>Number of fused kernel calls per run (a Dense layer and the activation after it count as one).</summary>
    public int StepCount => steps.Length;

    /// <summary>
    /// Compiles <paramref name="model"/> into a plan whose buffers hold up to <paramref name="maxBatch"/> rows of the
    /// widest layer.
    /// </summary>
    /// <exception cref="ArgumentException">A module other than Sequential, Dense, BatchNorm1d, Dropout or a
    /// parameterless activation, or no Dense layer at all.</exception>
    /// <exception cref="ShapeMismatchException">Consecutive layers whose sizes do not chain.</exception>
    public static InferencePlan Create(Module model, int maxBatch = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        return Build(model, maxBatch, out var error) ?? throw error!;
    }

    /// <summary>
    /// <see cref="Create"/>, or null with the reason (the message Create would throw) when the model is outside what
    /// a plan supports, for callers that fall back to the graph.
    /// </summary>
    internal static InferencePlan? TryCreate(Module model, int maxBatch, out string? reason)
    {
        var plan = Build(model, maxBatch, out var error);
        reason = error?.Message;
        return plan;
    }

    // The plan, or null and the exception Create throws (built, not thrown, so that TryCreate costs no throw).
    private static InferencePlan? Build(Module model, int maxBatch, out ArgumentException? error)
    {
        var layers = Sequential.Leaves(model);

        var steps = new List<Step>();
        Module? previous = null;   // the last layer that fixed the width (Dense or BatchNorm1d)
        bool sawDense = false;
        int inFeatures = 0, width = 0, widest = 0;
        foreach (var (path, module) in layers)
        {
            if (module is Dropout) continue;   // the identity at inference
            if (module is Dense or BatchNorm1d)
            {
                var (layerIn, layerOut) = module is Dense d ? (d.InFeatures, d.OutFeatures) : (((BatchNorm1d)module).Features, ((BatchNorm1d)module).Features);
                if (previous is null) inFeatures = layerIn;
                else if (width != layerIn)
                {
                    error = new ShapeMismatchException($"{module} at '{path}' expected input [*, {layerIn}] but the layer before it, {previous}, gives [*, {width}].");
                    return null;
                }
                widest = Math.Max(widest, Math.Max(layerIn, layerOut));
                previous = module;
                width = layerOut;
                if (module is Dense dense)
                {
                    sawDense = true;
                    steps.Add(new Step(dense, null, ActivationKind.Identity, 0f));
                }
                else steps.Add(new Step(null, (BatchNorm1d)module, ActivationKind.Identity, 0f, new float[width], new float[width]));
                continue;
            }
            if (Activation.KernelKind(module) is not var (act, slope))
            {
                error = new ArgumentException(
                    $"InferencePlan supports Sequential, Dense, BatchNorm1d, Dropout and the activations sigmoid, tanh, relu, leaky_relu, softmax, identity; {module} ({module.GetType().Name}) at '{path}' is not supported.", nameof(model));
                return null;
            }
            if (act == ActivationKind.Identity) continue;
            // Fuse into the Dense or BatchNorm1d step just before it when that step has no activation yet.
            if (steps.Count > 0 && steps[^1] is { Act: ActivationKind.Identity } last && (last.Layer is not null || last.Norm is not null))
                steps[^1] = last with { Act = act, Slope = slope };
            else
                steps.Add(new Step(null, null, act, slope));
        }
        if (!sawDense)
        {
            error = new ArgumentException($"InferencePlan: {model} contains no Dense layer, so its input width is unknown.", nameof(model));
            return null;
        }
        error = null;
        return new InferencePlan([.. steps], inFeatures, width, maxBatch, widest);
    }

    /// <summary>
    /// Runs the model on <paramref name="input"/> [batch, in] (row-major) and returns its output [batch, out].
    /// </summary>
    /// <returns>A span over the plan's own buffer: valid until the next call on this plan, which overwrites it.
    /// Copy it (or use <see cref="Run(ReadOnlySpan{float}, Span{float}, int)"/>) to keep it.</returns>
    /// <exception cref="ShapeMismatchException">The input does not hold batch × <see cref="InFeatures"/> values.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The batch is below 1 or above <see cref="MaxBatch"/>.</exception>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public ReadOnlySpan<float> Run(ReadOnlySpan<float> input, int batch = 1)
    {
        if (batch < 1 || batch > MaxBatch)
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"InferencePlan: batch must be between 1 and the plan's maxBatch {MaxBatch}; create the plan with a larger maxBatch.");
        if (input.Length != batch * InFeatures)
            throw new ShapeMismatchException($"InferencePlan expected input [{batch}, {InFeatures}] ({batch * InFeatures} values) but got {input.Length} values.");

        float[]? current = null;   // the buffer holding the activations; null while they are still the caller's input
        int width = InFeatures;
        foreach (var step in steps)
        {
            if (step.Layer is { } d)
            {
                var dst = current == ping ? pong : ping;
                DenseKernels.Forward(dst, current ?? input, d.Weight.AsSpan(), d.Bias is null ? [] : d.Bias.AsSpan(),
                    batch, d.InFeatures, d.OutFeatures, step.Act, step.Slope);
                current = dst;
                width = d.OutFeatures;
                continue;
            }
            // The other steps work in place; the first copies, so the caller's input is never written.
            if (current is null)
            {
                input[..(batch * width)].CopyTo(ping);
                current = ping;
            }
            var y = current.AsSpan(0, batch * width);
            if (step.Norm is { } bn)
            {
                // The same per-feature a = γ/√(running_var + ε), b = β − running_mean·a as the evaluation-mode op.
                BatchNormKernels.InverseStd(step.Scale, bn.RunningVar.AsSpan(), bn.Eps);
                BatchNormKernels.ScaleShift(step.Scale, step.Shift, bn.RunningMean.AsSpan(), step.Scale,
                    bn.Weight is null ? [] : bn.Weight.AsSpan(), bn.Bias is null ? [] : bn.Bias.AsSpan());
                BatchNormKernels.Affine(y, y, step.Scale, step.Shift, batch, width, 1);
            }
            if (step.Act != ActivationKind.Identity) DenseKernels.BiasActivateRows(y, [], batch, width, step.Act, step.Slope);
        }
        return current.AsSpan(0, batch * OutFeatures);
    }

    /// <summary>Runs the model on <paramref name="input"/> [batch, in] and writes [batch, out] to <paramref name="output"/>.</summary>
    /// <exception cref="ShapeMismatchException">Input or output of the wrong size.</exception>
    public void Run(ReadOnlySpan<float> input, Span<float> output, int batch = 1)
    {
        if (output.Length < batch * OutFeatures)
            throw new ShapeMismatchException($"InferencePlan expected output room for [{batch}, {OutFeatures}] ({batch * OutFeatures} values) but got {output.Length}.");
        Run(input, batch).CopyTo(output);
    }
}
