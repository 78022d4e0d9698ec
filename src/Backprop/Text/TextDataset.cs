namespace Backprop.Text;

/// <summary>
/// A tokenized text served as (context, next-token) windows: window i of the training part is tokens
/// [i, i + T) as input and [i + 1, i + T + 1) as targets, so every position predicts its next token. The text is split by
/// position, the first <see cref="TrainFraction"/> for training and the rest for validation (nanoGPT's 90/10), so no
/// validation window overlaps a training one.
/// </summary>
public sealed class TextDataset
{
    private readonly int[] train;
    private readonly int[] validation;

    /// <summary>Tokenizes <paramref name="text"/> and splits it by position.</summary>
    /// <param name="text">The whole text.</param>
    /// <param name="tokenizer">How characters become ids.</param>
    /// <param name="context">T, the tokens a window feeds the model.</param>
    /// <param name="trainFraction">The leading fraction of the tokens used for training, in (0, 1).</param>
    /// <exception cref="ArgumentException">The context is not positive, the fraction is outside (0, 1), or a part of
    /// the split is shorter than one window (T + 1 tokens).</exception>
    public TextDataset(string text, Tokenizer tokenizer, int context, float trainFraction = 0.9f)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (context < 1) throw new ArgumentOutOfRangeException(nameof(context), context, $"the context must be at least 1 token but is {context}.");
        if (!(trainFraction > 0f && trainFraction < 1f))
            throw new ArgumentOutOfRangeException(nameof(trainFraction), trainFraction, $"the train fraction must be in (0, 1) but is {trainFraction}.");
        var tokens = tokenizer.Encode(text);
        // Through decimal, so that 0.9f of 100 tokens is 90 and not 89 (0.9f is 0.89999998).
        int cut = (int)(tokens.Length * (decimal)trainFraction);
        train = tokens[..cut];
        validation = tokens[cut..];
        if (validation.Length < context + 1 || train.Length < context + 1)
            throw new ArgumentException(
                $"the text has {tokens.Length} tokens, split {train.Length} for training and {validation.Length} for validation, but a context of {context} needs at least {context + 1} in each; use a shorter --context or more text.");
        Tokenizer = tokenizer;
        Context = context;
        TrainFraction = trainFraction;
    }

    /// <summary>The tokenizer the text was encoded with.</summary>
    public Tokenizer Tokenizer { get; }

    /// <summary>T, the tokens per window.</summary>
    public int Context { get; }

    /// <summary>The leading fraction of the text used for training.</summary>
    public float TrainFraction { get; }

    /// <summary>The training tokens.</summary>
    public ReadOnlySpan<int> TrainTokens => train;

    /// <summary>The validation tokens.</summary>
    public ReadOnlySpan<int> ValidationTokens => validation;

    /// <summary>The number of windows of the training part (one per start position).</summary>
    public int TrainWindows => train.Length - Context;

    /// <summary>The number of windows of the validation part.</summary>
    public int ValidationWindows => validation.Length - Context;

    /// <summary>
    /// Window <paramref name="index"/> of one part: the ids as a float tensor [T] (what <see cref="Nn.Embedding"/> takes)
    /// and the next-token targets [T].
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is not a window of that part.</exception>
    public (Tensor Input, Tensor Target) Window(int index, bool validationPart = false)
    {
        var (x, y) = Batch([index], validationPart);
        return (x.Reshape(Context), y);
    }

    /// <summary>
    /// <paramref name="batch"/> training windows at start positions drawn uniformly from <paramref name="rng"/> (nanoGPT's
    /// sampler): inputs [B, T] and targets [B·T], the layout a model's logits [B·T, V] are scored against.
    /// </summary>
    public (Tensor Input, Tensor Target) RandomBatch(int batch, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"the batch must be at least 1 but is {batch}.");
        var starts = new int[batch];
        DrawStarts(starts, rng);
        return Batch(starts, validationPart: false);
    }

    /// <summary>Windows at the given start positions of one part: inputs [B, T] and targets [B·T].</summary>
    /// <exception cref="ArgumentOutOfRangeException">A start is not a window of that part.</exception>
    public (Tensor Input, Tensor Target) Batch(ReadOnlySpan<int> starts, bool validationPart)
    {
        var x = new float[starts.Length * Context];
        var y = new float[starts.Length * Context];
        Fill(starts, validationPart, x, y);
        return (Tensor.FromArray(x, starts.Length, Context), Tensor.FromArray(y, starts.Length * Context));
    }

    /// <summary>
    /// <see cref="RandomBatch"/> (the same draws from <paramref name="rng"/>) into tensors of the open step
    /// (<see cref="TensorArena"/>): a training step takes its batch without allocating.
    /// </summary>
    internal (Tensor Input, Tensor Target) RandomStepBatch(int batch, Rng rng)
    {
        Span<int> starts = batch <= 1024 ? stackalloc int[batch] : new int[batch];
        DrawStarts(starts, rng);
        var x = Tensor.Uninitialized(Shapes.Interned([batch, Context]));
        var y = Tensor.Uninitialized(Shapes.Interned([batch * Context]));
        Fill(starts, validationPart: false, x.data, y.data);
        return (x, y);
    }

    // nanoGPT's sampler: each window's start uniform over the training windows, one draw per window in order.
    private void DrawStarts(Span<int> starts, Rng rng)
    {
        for (int i = 0; i < starts.Length; i++) starts[i] = rng.NextInt(TrainWindows);
    }

    // Inputs and next-token targets of the windows at `starts`, row after row.
    private void Fill(ReadOnlySpan<int> starts, bool validationPart, float[] x, float[] y)
    {
        var source = validationPart ? validation : train;
        int t = Context, windows = source.Length - t;
        for (int b = 0; b < starts.Length; b++)
        {
            int s = starts[b];
            if ((uint)s >= (uint)windows)
                throw new ArgumentOutOfRangeException(nameof(starts), s, $"window {s} is outside the {windows} windows of the {(validationPart ? "validation" : "training")} text.");
            for (int i = 0; i < t; i++)
            {
                x[b * t + i] = source[s + i];
                y[b * t + i] = source[s + i + 1];
            }
        }
    }

    /// <summary>
    /// Up to <paramref name="count"/> start positions spread evenly over one part (the same every time), for a
    /// validation loss that does not depend on a generator.
    /// </summary>
    public int[] EvenStarts(int count, bool validationPart)
    {
        int windows = validationPart ? ValidationWindows : TrainWindows;
        int n = Math.Max(1, Math.Min(count, windows));
        var starts = new int[n];
        for (int i = 0; i < n; i++) starts[i] = (int)((long)i * windows / n);
        return starts;
    }
}
