using System.Globalization;
using System.Text.Json.Nodes;
using Backprop.Nn;

namespace Backprop.Text;

/// <summary>
/// A character- or byte-level LSTM language model: embedding <c>wte</c> [V, E], a stacked <see cref="Lstm"/>
/// (<c>lstm</c>, PyTorch's parameter names) and a linear head <c>lm_head</c> [V, H] at every position: ids [B, T] →
/// logits [B, T, V]. Generation carries (h, c) from token to token, so each token costs one LSTM step.
/// </summary>
public sealed class LstmLanguageModel : LanguageModel
{
    /// <summary>Creates the model.</summary>
    /// <param name="vocabSize">V, the tokenizer's number of ids.</param>
    /// <param name="layers">Stacked LSTM layers.</param>
    /// <param name="hidden">H, the hidden (and cell) size.</param>
    /// <param name="embed">E, the embedding size.</param>
    /// <param name="context">The training window length (the recurrence itself takes any length).</param>
    /// <param name="dropout">Dropout between LSTM layers while training.</param>
    /// <param name="rng">Generator for the initial weights; default <see cref="Init.DefaultRng"/>.</param>
    public LstmLanguageModel(int vocabSize, int layers, int hidden, int embed, int context, float dropout = 0f, Rng? rng = null)
    {
        if (vocabSize < 1 || layers < 1 || hidden < 1 || embed < 1 || context < 1)
            throw new ArgumentException($"lstm: vocabulary {vocabSize}, layers {layers}, hidden {hidden}, embed {embed} and context {context} must all be at least 1.");
        rng ??= Init.DefaultRng;
        Wte = new Embedding(vocabSize, embed, rng);
        Rnn = new Lstm(embed, hidden, layers, dropout: dropout, rng: rng);
        Head = new Linear(hidden, vocabSize, rng: rng);
        Context = context;
    }

    /// <inheritdoc/>
    public override int VocabSize => Wte.NumEmbeddings;

    /// <inheritdoc/>
    public override int Context { get; }

    /// <summary>Token embedding [V, E].</summary>
    public Embedding Wte { get; }

    /// <summary>The stacked LSTM.</summary>
    public Lstm Rnn { get; }

    /// <summary>The head [V, H] with bias.</summary>
    public Linear Head { get; }

    /// <summary>Logits [B, T, V] of ids [B, T].</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 2)
            throw new ShapeMismatchException($"{this} expected token ids [batch, seq] but got {Shapes.Format([.. input.Shape])}.");
        return Head.Forward(Rnn.Forward(Wte.Forward(input)));
    }

    /// <inheritdoc/>
    public override LanguageModelState NewState() => new LstmState(this);

    /// <inheritdoc/>
    public override IEnumerable<(string Name, Module Module)> Children()
    {
        yield return ("wte", Wte);
        yield return ("lstm", Rnn);
        yield return ("lm_head", Head);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new()
    {
        ["type"] = "LstmLm", ["vocab"] = VocabSize, ["layers"] = Rnn.NumLayers, ["hidden"] = Rnn.HiddenSize, ["embed"] = Wte.Dim,
        ["context"] = Context, ["dropout"] = Rnn.DropoutP,
    };

    /// <summary>The preset that builds this architecture, e.g. <c>lstm:layers=2,hidden=256</c>.</summary>
    public string Preset => $"lstm:layers={Rnn.NumLayers},hidden={Rnn.HiddenSize},embed={Wte.Dim},context={Context}{(Rnn.DropoutP != 0f ? $",dropout={Rnn.DropoutP.ToString(CultureInfo.InvariantCulture)}" : "")}";

    /// <inheritdoc/>
    public override string ToString() => $"LSTM-LM(vocab={VocabSize}, layers={Rnn.NumLayers}, hidden={Rnn.HiddenSize}, embed={Wte.Dim})";

    // (h, c), each [layers, 1, H], carried from token to token.
}
