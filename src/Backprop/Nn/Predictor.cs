using System.Runtime.CompilerServices;
using Backprop.Kernels;
using Backprop.Training;

namespace Backprop.Nn;

/// <summary>
/// Inference for a deployed model: create one from a model once, then call <see cref="Predict(ReadOnlySpan{float}, Span{float}, int)"/>
/// from any number of threads. A model the compiled step can express (Dense, Conv2d, ConvTranspose2d, BatchNorm1d/2d,
/// max and average pooling, Flatten/Reshape, Dropout, activations, softmax) runs through the forward slice of that step
/// (<see cref="IsCompiled"/>), graph-free, and a call that writes into the caller's buffer allocates nothing in steady
/// state; any other model runs through the autograd graph without recording it. A model that starts with a Conv2d or
/// a pooling layer takes images of any size, so it compiles once it knows the shape of one example
/// (<see cref="Predictor(Module, IReadOnlyList{int})"/>).
/// </summary>
/// <remarks>
/// <para>Both paths give the graph's evaluation-mode values: bit for bit for dense layers, batch norm, pooling and
/// activations (the same kernels; under the scalar GEMM, <c>BACKPROP_GEMM=scalar</c>, a single row agrees to rounding:
/// its GEMV sums in another order than the packed product). A convolution sums its receptive field in another order
/// (channels-last, bias after the sum, where the graph's per-image NCHW product sums channel-major with the bias
/// inside), so a CNN's outputs agree with the graph's to float rounding of those sums, not bit for bit.</para>
/// <para>Thread-safe: calls never change the model (they run in an <see cref="InferenceMode"/> scope: dropout is the
/// identity, batch norm reads its running statistics), and each concurrent call borrows its own compiled plan (its
/// scratch), which is kept for reuse afterwards. Results do not depend on how many threads call at once.</para>
/// <para>Weights are read live at every call, so a predictor sees later training steps and loaded weights (do not
/// train the model while predicting with it). It does not see later changes to the model's structure, such as
/// <see cref="Sequential.Add"/>: create a new predictor then.</para>
/// </remarks>
public sealed class Predictor
{
    // Rows per compiled run for large inputs: at most 256, and fewer when a row's activations are large (a CNN's), so
    // that a plan's buffers stay near BlockBytes and one plan per calling thread stays affordable.
    private const int MostBlockRows = 256;
    private const int BlockBytes = 8 << 20;

    // Plans not in use, one per slot; a call takes any and puts it back, so concurrent calls never share buffers.
    private readonly TrainingPlan?[] idle;

    // A compiled run of more than SkinnyRows rows takes the packed GEMM, of fewer its few-rows path, which rounds
    // differently. Blocks never leave SkinnyRows rows or fewer behind (a run takes up to BlockRows + SkinnyRows), so
    // each row goes through the same path as in one graph call on the whole input.
    private readonly int blockRows;
    private readonly IReadOnlyList<int> outputShape = [];
    private readonly bool takesAnySampleShape;
    private readonly int[]? sampleShape, imageInput;

    // The layers the plans were compiled from: a cached predictor serves a model only while they are the same.
    private readonly Module[] layers;

    /// <summary>Prepares <paramref name="model"/> for inference, compiling its forward pass when the stages can express it.</summary>
    public Predictor(Module model) : this(model, null)
    {
    }

    /// <summary>
    /// Prepares <paramref name="model"/> for inference on examples of shape <paramref name="sampleShape"/> (e.g.
    /// [1, 28, 28]). The shape lets a model that starts with a Conv2d or a pooling layer, which take images of any
    /// size, compile; other models ignore it.
    /// </summary>
    public Predictor(Module model, IReadOnlyList<int>? sampleShape)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        this.sampleShape = sampleShape is null ? null : [.. sampleShape];
        layers = LayersOf(model);
        hooks = new HookCheck(HookRegistry.Version, false);
        var plan = TrainingPlan.TryCreateForward(model, 1, this.sampleShape, out var reason);
        FallbackReason = reason;
        if (plan is not null)
        {
            (InFeatures, OutFeatures, outputShape, takesAnySampleShape) = (plan.InFeatures, plan.OutFeatures, plan.OutputShape, plan.TakesAnySampleShape);
            imageInput = plan.ImageInput is { } image ? [.. image] : null;
            blockRows = Math.Clamp(BlockBytes / (sizeof(float) * plan.FloatsPerRow), Gemm.SkinnyRows + 1, MostBlockRows);
        }
        idle = new TrainingPlan?[Math.Max(4, 2 * Environment.ProcessorCount)];
        idle[0] = plan;
    }

    // One predictor per model, for the library's one-shot calls (model.Predict, model.Evaluate, Fit's validation): they
    // reuse its compiled plans instead of compiling the model again at every call. Weakly held: it goes with the model.
    private static readonly ConditionalWeakTable<Module, Predictor> Shared = new();

    /// <summary>
    /// The predictor the library's own calls share for <paramref name="model"/> and examples of
    /// <paramref name="sampleShape"/>: the one made last, while the model's layers and the shape are unchanged.
    /// </summary>
    internal static Predictor For(Module model, IReadOnlyList<int>? sampleShape)
    {
        if (Shared.TryGetValue(model, out var cached) && cached.Serves(model, sampleShape)) return cached;
        var made = new Predictor(model, sampleShape);
        Shared.AddOrUpdate(model, made);
        return made;
    }

    private bool Serves(Module model, IReadOnlyList<int>? shape) =>
        (sampleShape is null ? shape is null : shape is not null && sampleShape.AsSpan().SequenceEqual([.. shape]))
        && layers.AsSpan().SequenceEqual(LayersOf(model));

    private static Module[] LayersOf(Module model) => [.. Sequential.Leaves(model).Select(leaf => leaf.Module)];

    /// <summary>The model this predictor runs.</summary>
    public Module Model { get; }

    /// <summary>True when calls run the compiled, graph-free path; false when they run the graph (see <see cref="FallbackReason"/>).</summary>
    public bool IsCompiled => FallbackReason is null;

    /// <summary>Why the model runs through the graph rather than the compiled path; null when it is compiled.</summary>
    public string? FallbackReason { get; }

    /// <summary>Values per input row of a compiled model (its first layer's inputs); 0 when it runs through the graph.</summary>
    public int InFeatures { get; }

    /// <summary>Values per output row of a compiled model; 0 when it runs through the graph.</summary>
    public int OutFeatures { get; }

    /// <summary>
    /// Writes the model's outputs for <paramref name="rows"/> examples, stored one after another in
    /// <paramref name="input"/> (row-major [rows, features]), to <paramref name="output"/> ([rows, outputs]).
    /// On the compiled path this allocates nothing once the buffers for that many rows exist.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The input does not hold rows × the model's inputs, or the output has not
    /// room for rows × its outputs.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rows"/> is below 1.</exception>
    public void Predict(ReadOnlySpan<float> input, Span<float> output, int rows = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        if (!IsCompiled || HookedSince())
        {
            if (input.Length % rows != 0)
                throw new ShapeMismatchException($"{Model} expected {rows} rows of equal length but got {input.Length} values.");
            var y = Graph(Tensor.FromArray(input.ToArray(), rows, input.Length / rows));
            if (output.Length < y.Size)
                throw new ShapeMismatchException($"{Model} needs output room for {Shapes.Format(y.dims)} ({y.Size} values) but got {output.Length}.");
            y.AsSpan().CopyTo(output);
            return;
        }
        if (input.Length != rows * InFeatures)
            throw new ShapeMismatchException($"{Model} expected input [{rows}, {InFeatures}] ({rows * InFeatures} values) but got {input.Length} values.");
        if (output.Length < rows * OutFeatures)
            throw new ShapeMismatchException($"{Model} needs output room for [{rows}, {OutFeatures}] ({rows * OutFeatures} values) but got {output.Length}.");
        Compiled(input, output, rows);
    }

    /// <summary>
    /// The model's outputs for <paramref name="features"/> ([N, F], or whatever shape the model takes), as a new
    /// tensor, in evaluation mode and without a graph.
    /// </summary>
    public Tensor Predict(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        // A shape other than [N, InFeatures] (or [N, ...] of InFeatures per example, for a model that starts with a
        // Reshape) goes to the graph, which accepts what the model accepts or says why not.
        bool rows = imageInput is null
            ? features.Rank == 2 && features.dims[1] == InFeatures
              || takesAnySampleShape && features.Rank > 2 && features.Size == (long)features.dims[0] * InFeatures
            : features.dims.AsSpan(1).SequenceEqual(imageInput);
        if (!IsCompiled || !rows || features.dims[0] == 0 || HookedSince()) return Graph(features);
        int n = features.dims[0];
        var output = new Tensor([n, .. outputShape], GC.AllocateUninitializedArray<float>(n * OutFeatures));
        Compiled(features.data, output.data, n);
        return output;
    }

    private Tensor Graph(Tensor features)
    {
        using (InferenceMode.Enter()) return Model.Call(features);
    }

    // Whether hooks registered on the model after this predictor compiled it must run, so the graph must: rechecked
    // only when a hook was added or removed anywhere since the last look.
    private sealed record HookCheck(int Version, bool Hooked);

    private HookCheck hooks;

    private bool HookedSince()
    {
        var seen = Volatile.Read(ref hooks);
        int version = HookRegistry.Version;
        if (seen.Version == version) return seen.Hooked;
        var now = new HookCheck(version, Model.HooksReason(training: false) is not null);
        Volatile.Write(ref hooks, now);
        return now.Hooked;
    }

    // Runs blocks of at most blockRows + SkinnyRows rows through a borrowed plan; every block but the last has blockRows.
    private void Compiled(ReadOnlySpan<float> input, Span<float> output, int rows)
    {
        int most = blockRows + Gemm.SkinnyRows;
        var plan = Borrow(Math.Min(rows, most));
        try
        {
            for (int first = 0; first < rows;)
            {
                int n = rows - first <= most ? rows - first : blockRows;
                plan.Forward(input.Slice(first * InFeatures, n * InFeatures), output.Slice(first * OutFeatures, n * OutFeatures), n);
                first += n;
            }
        }
        finally
        {
            Return(plan);
        }
    }

    private TrainingPlan Borrow(int rows)
    {
        for (int i = 0; i < idle.Length; i++)
        {
            if (Volatile.Read(ref idle[i]) is null) continue;
            var plan = Interlocked.Exchange(ref idle[i], null);
            if (plan is null) continue;
            if (plan.MaxBatch >= rows) return plan;
            break;   // too small: replace it by a larger one
        }
        // All plans busy (more threads than slots) or too small: compile one for this many rows.
        return TrainingPlan.TryCreateForward(Model, rows, sampleShape, out var reason)
            ?? throw new InvalidOperationException($"Predictor: {Model} no longer compiles ({reason}); its structure changed after the predictor was made.");
    }

    private void Return(TrainingPlan plan)
    {
        for (int i = 0; i < idle.Length; i++)
            if (Interlocked.CompareExchange(ref idle[i], plan, null) is null) return;
    }
}
