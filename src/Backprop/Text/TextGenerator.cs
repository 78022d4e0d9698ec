using System.Text;

namespace Backprop.Text;

/// <summary>
/// Samples text from a <see cref="LanguageModel"/>: the prompt is fed token by token, then each new token is drawn from
/// softmax(logits / temperature) restricted to the <c>topK</c> most likely ids, with a generator seeded by
/// <c>seed</c>, so the same model, prompt and seed give the same text.
/// </summary>
public static class TextGenerator
{
    /// <summary>
    /// Generates <paramref name="tokens"/> tokens after <paramref name="prompt"/> and returns them as text (the prompt
    /// not included); <paramref name="onText"/>, when given, gets each piece as soon as it is decoded (streaming).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="tokenizer">The tokenizer it was trained with.</param>
    /// <param name="prompt">Text to continue; empty: start after a newline (or id 0 when the vocabulary has none).</param>
    /// <param name="tokens">How many tokens to generate.</param>
    /// <param name="temperature">Divides the logits; 0 picks the most likely token every time.</param>
    /// <param name="topK">Sample only among the k most likely tokens (null: all).</param>
    /// <param name="seed">Seed of the sampling generator.</param>
    /// <param name="onText">Called with each decoded piece.</param>
    /// <exception cref="ArgumentException">The prompt has a character outside the vocabulary, or an argument is out of range.</exception>
    public static string Generate(LanguageModel model, Tokenizer tokenizer, string prompt, int tokens, float temperature = 1f,
        int? topK = null, long seed = 1, Action<string>? onText = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompt);
        if (tokenizer.VocabSize != model.VocabSize)
            throw new ArgumentException($"the tokenizer has {tokenizer.VocabSize} symbols but the model predicts {model.VocabSize}.");
        if (tokens < 0) throw new ArgumentOutOfRangeException(nameof(tokens), tokens, $"the number of tokens must be ≥ 0 but is {tokens}.");
        if (!(temperature >= 0f) || !float.IsFinite(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, $"the temperature must be a number ≥ 0 but is {temperature}.");
        if (topK is < 1) throw new ArgumentOutOfRangeException(nameof(topK), topK, $"top-k must be at least 1 but is {topK}.");

        var ids = tokenizer.Encode(prompt);
        if (ids.Length == 0) ids = [Start(tokenizer)];
        var state = model.NewState();
        ReadOnlySpan<float> logits = default;
        foreach (int id in ids) logits = state.Next(id);

        var rng = new Rng(seed);
        var decoder = tokenizer.NewDecoder();
        var text = new StringBuilder();
        var probs = new float[model.VocabSize];
        var sorted = new float[model.VocabSize];
        for (int n = 0; n < tokens; n++)
        {
            int next = Sample(logits, temperature, topK, probs, sorted, rng);
            var piece = decoder.Next(next);
            text.Append(piece);
            if (piece.Length > 0) onText?.Invoke(piece);
            if (n + 1 < tokens) logits = state.Next(next);
        }
        return text.ToString();
    }

    private static int Start(Tokenizer tokenizer) =>
        tokenizer.Vocabulary is null ? '\n' : Math.Max(0, tokenizer.Vocabulary.IndexOf('\n', StringComparison.Ordinal));

    /// <summary>
    /// One id drawn from softmax(logits/temperature) over the top k (ties broken by the lower id); probs and sorted
    /// [V] are scratch, so that a draw allocates nothing.
    /// </summary>
    internal static int Sample(ReadOnlySpan<float> logits, float temperature, int? topK, float[] probs, float[] sorted, Rng rng)
    {
        int v = logits.Length;
        if (temperature == 0f) return System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits);
        float cutoff = float.NegativeInfinity;
        if (topK is { } k && k < v)
        {
            logits.CopyTo(sorted);
            sorted.AsSpan(0, v).Sort();
            cutoff = sorted[v - k];
        }
        float max = System.Numerics.Tensors.TensorPrimitives.Max(logits);
        double total = 0;
        for (int i = 0; i < v; i++)
        {
            probs[i] = logits[i] >= cutoff ? (float)Math.Exp((logits[i] - max) / temperature) : 0f;
            total += probs[i];
        }
        double u = rng.NextDouble() * total, sum = 0;
        for (int i = 0; i < v; i++)
        {
            sum += probs[i];
            if (u < sum && probs[i] > 0f) return i;
        }
        for (int i = v - 1; i >= 0; i--) if (probs[i] > 0f) return i;
        return 0;
    }
}
