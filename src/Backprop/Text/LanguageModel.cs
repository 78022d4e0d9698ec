using Backprop.Nn;

namespace Backprop.Text;

/// <summary>
/// A model of next tokens: ids [B, T] (whole numbers as floats, as <see cref="TextDataset"/> serves them) → logits
/// [B, T, V], position t scoring token t + 1. Generation runs it one token at a time through a
/// <see cref="LanguageModelState"/> that carries what earlier tokens left (a transformer's keys and values, a recurrent
/// network's hidden state), so each new token costs one position's work.
/// </summary>
public abstract class LanguageModel : Module
{
    /// <summary>V, the number of token ids.</summary>
    public abstract int VocabSize { get; }

    /// <summary>The longest input the model takes at once (a transformer's position table; the training window otherwise).</summary>
    public abstract int Context { get; }

    /// <summary>A fresh state for generating one sequence (batch 1), before any token.</summary>
    public abstract LanguageModelState NewState();

    /// <summary>The logits [B·T, V] of ids [B, T]: what cross-entropy scores against the next tokens [B·T].</summary>
    public Tensor FlatLogits(Tensor ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var logits = Forward(ids);
        return logits.Reshape(logits.Shape[0] * logits.Shape[1], VocabSize);
    }

    /// <summary>Checks ids [B, T] with T ≤ <see cref="Context"/> and returns (B, T).</summary>
    private protected (int B, int T) CheckIds(Tensor ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Rank != 2)
            throw new ShapeMismatchException($"{this} expected token ids [batch, seq] but got {Shapes.Format([.. ids.Shape])}.");
        if (ids.Shape[1] > Context)
            throw new ShapeMismatchException($"{this} takes at most {Context} tokens at once but got {ids.Shape[1]}.");
        return (ids.Shape[0], ids.Shape[1]);
    }
}

/// <summary>What generation carries from token to token for one sequence.</summary>
public abstract class LanguageModelState
{
    /// <summary>How many tokens the state has seen.</summary>
    public int Length { get; protected set; }

    /// <summary>Feeds one token and returns the logits [V] for the next one (valid until the next call).</summary>
    public abstract ReadOnlySpan<float> Next(int token);
}
