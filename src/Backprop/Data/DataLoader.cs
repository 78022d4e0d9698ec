using System.Collections;

namespace Backprop.Data;

/// <summary>
/// Cuts a dataset into mini-batches <c>(X [B, F], Y [B] or [B, K])</c>. Each enumeration is one epoch; with
/// shuffling, each epoch visits the rows in the next permutation drawn from the loader's own <see cref="Rng"/>, so
/// epochs differ from one another while a whole run repeats exactly for the same seed.
/// </summary>
/// <remarks>
/// The permutation is drawn when enumeration starts (<see cref="GetEnumerator"/>), so saving <see cref="Rng"/>'s
/// state between epochs and restoring it later reproduces the following epochs.
/// </remarks>
public sealed class DataLoader : IEnumerable<(Tensor X, Tensor Y)>
{
    private int[]? orderBuffer;

    /// <summary>Creates a loader over <paramref name="data"/>.</summary>
    /// <param name="data">The examples.</param>
    /// <param name="batchSize">Rows per batch B (the last batch may be smaller unless <paramref name="dropLast"/>).</param>
    /// <param name="shuffle">Visit rows in a fresh random order each epoch; otherwise in dataset order.</param>
    /// <param name="seed">Seed of the loader's generator.</param>
    /// <param name="dropLast">Skip the final batch when it has fewer than <paramref name="batchSize"/> rows.</param>
    public DataLoader(Dataset data, int batchSize, bool shuffle = true, int seed = 0, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize,
                $"DataLoader: the batch size must be at least 1 but is {batchSize}.");
        Data = data;
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        Rng = new Rng(seed);
    }

    /// <summary>The dataset batches are drawn from.</summary>
    public Dataset Data { get; }

    /// <summary>Rows per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch visits the rows in a new random order.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether a final, smaller batch is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>The generator that draws each epoch's permutation; save and restore its state to checkpoint.</summary>
    public Rng Rng { get; }

    /// <summary>Batches per epoch: ⌊N / B⌋ with <see cref="DropLast"/>, ⌈N / B⌉ without.</summary>
    public int BatchCount => DropLast ? Data.Count / BatchSize : (int)(((long)Data.Count + BatchSize - 1) / BatchSize);

    /// <summary>Starts an epoch: draws its row order now, then yields the batches lazily.</summary>
    public IEnumerator<(Tensor X, Tensor Y)> GetEnumerator() => StartEpoch(0).GetEnumerator();

    /// <summary>
    /// Starts an epoch at batch <paramref name="firstBatch"/>: draws the epoch's row order now (exactly as
    /// enumerating the loader does), then yields batches <paramref name="firstBatch"/>.. lazily. With
    /// <see cref="Rng"/> restored to its state at the start of an interrupted epoch, this resumes that epoch.
    /// </summary>
    public IEnumerable<(Tensor X, Tensor Y)> StartEpoch(int firstBatch)
    {
        if (firstBatch < 0 || firstBatch > BatchCount)
            throw new ArgumentOutOfRangeException(nameof(firstBatch), firstBatch, $"DataLoader: the first batch must be in 0..{BatchCount}.");
        var order = new int[Data.Count];
        FillOrder(order);
        return Batches(order, firstBatch);
    }

    /// <summary>
    /// Starts an epoch without building tensors: the row order its batches visit (batch b is rows
    /// [b·B, min((b+1)·B, N)) of it), drawn exactly as <see cref="StartEpoch"/> draws it. The array is the
    /// loader's own and is refilled by the next call, so a training loop allocates nothing per epoch.
    /// </summary>
    internal int[] DrawOrder()
    {
        if (orderBuffer?.Length != Data.Count) orderBuffer = new int[Data.Count];
        FillOrder(orderBuffer);
        return orderBuffer;
    }

    // 0..N−1, shuffled when Shuffle is set (the same draws as Rng.Permutation).
    private void FillOrder(int[] order)
    {
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (Shuffle) Rng.Shuffle(order.AsSpan());
    }

    private IEnumerable<(Tensor X, Tensor Y)> Batches(int[] order, int firstBatch)
    {
        int count = BatchCount;
        for (int b = firstBatch; b < count; b++)
        {
            int start = b * BatchSize;
            yield return Gather(Data, order.AsSpan(start, Math.Min(BatchSize, order.Length - start)));
        }
    }

    /// <summary>The batch (X, Y) of <paramref name="data"/>'s <paramref name="rows"/>, copied, recording no graph.</summary>
    internal static (Tensor X, Tensor Y) Gather(Dataset data, ReadOnlySpan<int> rows)
    {
        // The no-grad scope closes before returning: it is a thread-wide switch, and holding it open while the caller
        // runs its training step (an iterator yielding inside it would) would silently stop gradients being recorded.
        using (GradMode.NoGrad())
            return (data.Features.Rows(rows), data.Targets.Rows(rows));
    }

    /// <summary>
    /// Every input of <paramref name="data"/>'s <paramref name="rows"/> in the order a model takes them (the features
    /// first, then <see cref="Dataset.WithMoreInputs"/>'s), and the targets.
    /// </summary>
    internal static (Tensor[] Inputs, Tensor Y) GatherInputs(Dataset data, ReadOnlySpan<int> rows, Nn.Module? model = null)
    {
        using (GradMode.NoGrad())
        {
            var all = data.Inputs;
            var inputs = new Tensor[all.Count];
            for (int i = 0; i < inputs.Length; i++) inputs[i] = all[i].Rows(rows);
            inputs[0] = AsModelTakesIt(inputs[0], data, rows.Length, model);
            return (inputs, data.Targets.Rows(rows));
        }
    }

    /// <summary>
    /// <see cref="GatherInputs"/> for a set with one input (<see cref="Dataset.InputCount"/> 1): no array of inputs,
    /// so a training step of such a set allocates nothing here.
    /// </summary>
    internal static (Tensor X, Tensor Y) GatherInput(Dataset data, ReadOnlySpan<int> rows, Nn.Module? model = null)
    {
        using (GradMode.NoGrad())
            return (AsModelTakesIt(data.Features.Rows(rows), data, rows.Length, model), data.Targets.Rows(rows));
    }

    // A model that starts with an image layer (Conv2d, pooling, BatchNorm2d) takes each batch [B, F] viewed as
    // [B, ..SampleShape]; every other model takes the rows as they are.
    private static Tensor AsModelTakesIt(Tensor features, Dataset data, int batch, Nn.Module? model)
    {
        if (model is null || !data.HasImageShape || !Training.TrainingPlan.StartsWithImageLayer(model)) return features;
        var sample = data.SampleShape;
        Span<int> shape = stackalloc int[1 + sample.Count];
        shape[0] = batch;
        for (int i = 0; i < sample.Count; i++) shape[1 + i] = sample[i];
        return features.Reshape(shape);
    }

    /// <summary>
    /// Every input and every target of <paramref name="data"/>'s <paramref name="rows"/>, each in the order a model
    /// takes or returns them (<see cref="Dataset.Inputs"/>, <see cref="Dataset.AllTargets"/>).
    /// </summary>
    internal static (Tensor[] Inputs, Tensor[] Targets) GatherAll(Dataset data, ReadOnlySpan<int> rows)
    {
        using (GradMode.NoGrad())
        {
            var inputs = data.Inputs;
            var targets = data.AllTargets;
            var x = new Tensor[inputs.Count];
            for (int i = 0; i < x.Length; i++) x[i] = inputs[i].Rows(rows);
            var y = new Tensor[targets.Count];
            for (int i = 0; i < y.Length; i++) y[i] = targets[i].Rows(rows);
            return (x, y);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
