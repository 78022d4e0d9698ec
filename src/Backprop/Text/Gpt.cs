using System.Globalization;
using System.Text.Json.Nodes;
using Backprop.Nn;

namespace Backprop.Text;

/// <summary>
/// A character- or byte-level GPT (GPT-2's layout, nanoGPT's sizes): token embedding <c>wte</c> [V, D] plus learned
/// position embedding <c>wpe</c> [context, D], dropout, <see cref="Layers"/> pre-LayerNorm blocks
/// (<see cref="GptBlock"/>), a final LayerNorm <c>ln_f</c> and a linear head <c>lm_head</c> [V, D] (no bias) at every
/// position: ids [B, T] → logits [B, T, V].
/// </summary>
/// <remarks>
/// Weights start as nanoGPT's: N(0, 0.02) for embeddings and projections, N(0, 0.02/√(2·layers)) for the projections
/// that end a residual branch, zero biases. Generation (<see cref="NewState"/>) keeps every block's keys and values,
/// so token n costs one position's work, O(context), instead of a forward over the whole window.
/// </remarks>
public sealed class Gpt : LanguageModel
{
    /// <summary>Creates the model.</summary>
    /// <param name="vocabSize">V, the tokenizer's number of ids.</param>
    /// <param name="layers">Transformer blocks.</param>
    /// <param name="heads">Attention heads per block; divides <paramref name="dim"/>.</param>
    /// <param name="dim">D, features per position.</param>
    /// <param name="context">The longest input, the size of the position table.</param>
    /// <param name="dropout">Dropout on the embeddings, attention probabilities and residual branches while training.</param>
    /// <param name="rng">Generator for the initial weights; default <see cref="Init.DefaultRng"/>.</param>
    /// <exception cref="ArgumentException">A size is not positive, or dim is not a multiple of heads.</exception>
    public Gpt(int vocabSize, int layers, int heads, int dim, int context, float dropout = 0f, Rng? rng = null)
    {
        if (vocabSize < 1 || layers < 1 || heads < 1 || dim < 1 || context < 1)
            throw new ArgumentException($"gpt: vocabulary {vocabSize}, layers {layers}, heads {heads}, dim {dim} and context {context} must all be at least 1.");
        if (dim % heads != 0) throw new ArgumentException($"gpt: dim {dim} must be a multiple of heads {heads}.");
        rng ??= Init.DefaultRng;
        Wte = new Embedding(vocabSize, dim, rng);
        Wpe = new Embedding(context, dim, rng);
        Drop = new Dropout(dropout, new Rng(((long)rng.NextUInt() << 32) | rng.NextUInt()));
        Blocks = [.. Enumerable.Range(0, layers).Select(_ => new GptBlock(dim, heads, dropout, rng))];
        LnF = new LayerNorm(dim);
        Head = new Linear(dim, vocabSize, bias: false, rng: rng);
        DropoutP = dropout;
        InitLikeNanoGpt(rng);
    }

    /// <inheritdoc/>
    public override int VocabSize => Wte.NumEmbeddings;

    /// <inheritdoc/>
    public override int Context => Wpe.NumEmbeddings;

    /// <summary>D, features per position.</summary>
    public int Dim => Wte.Dim;

    /// <summary>The number of blocks.</summary>
    public int Layers => Blocks.Count;

    /// <summary>Attention heads per block.</summary>
    public int Heads => Blocks[0].Attn.Heads;

    /// <summary>The dropout probability while training.</summary>
    public float DropoutP { get; }

    /// <summary>Token embedding [V, D].</summary>
    public Embedding Wte { get; }

    /// <summary>Position embedding [context, D].</summary>
    public Embedding Wpe { get; }

    /// <summary>Dropout on the summed embeddings.</summary>
    public Dropout Drop { get; }

    /// <summary>The transformer blocks.</summary>
    public IReadOnlyList<GptBlock> Blocks { get; }

    /// <summary>The final LayerNorm.</summary>
    public LayerNorm LnF { get; }

    /// <summary>The head [V, D], no bias.</summary>
    public Linear Head { get; }

    /// <summary>Logits [B, T, V] of ids [B, T] (T ≤ <see cref="Context"/>).</summary>
    /// <exception cref="ShapeMismatchException">The ids are not [B, T] or T exceeds the context.</exception>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 2)
            throw new ShapeMismatchException($"{this} expected token ids [batch, seq] but got {Shapes.Format([.. input.Shape])}.");
        int t = input.Shape[1];
        if (t > Context) throw new ShapeMismatchException($"{this} takes at most {Context} tokens at once but got {t}.");
        var positions = Wpe.Forward(Positions(t));   // [T, D], broadcast over B
        var x = Drop.Forward(Wte.Forward(input) + positions);
        for (int i = 0; i < Blocks.Count; i++) x = Blocks[i].Forward(x);
        return Head.Forward(LnF.Forward(x));
    }

    // Positions 0 … t−1, kept for the next call of the same length (one reference, so concurrent calls are safe).
    private IntTensor? positions;

    private IntTensor Positions(int t)
    {
        if (positions is { } cached && cached.Size == t) return cached;
        var made = IntTensor.FromArray([.. Enumerable.Range(0, t)], t);
        positions = made;
        return made;
    }

    /// <inheritdoc/>
    public override LanguageModelState NewState() => new GptState(this);

    /// <inheritdoc/>
    public override IEnumerable<(string Name, Module Module)> Children()
    {
        yield return ("wte", Wte);
        yield return ("wpe", Wpe);
        yield return ("drop", Drop);
        for (int i = 0; i < Blocks.Count; i++) yield return ($"h.{i}", Blocks[i]);
        yield return ("ln_f", LnF);
        yield return ("lm_head", Head);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new()
    {
        ["type"] = "Gpt", ["vocab"] = VocabSize, ["layers"] = Layers, ["heads"] = Heads, ["dim"] = Dim, ["context"] = Context, ["dropout"] = DropoutP,
    };

    /// <summary>The preset that builds this architecture, e.g. <c>gpt:layers=4,heads=4,dim=128,context=64</c>.</summary>
    public string Preset => $"gpt:layers={Layers},heads={Heads},dim={Dim},context={Context}{(DropoutP != 0f ? $",dropout={DropoutP.ToString(CultureInfo.InvariantCulture)}" : "")}";

    /// <inheritdoc/>
    public override string ToString() => $"GPT(vocab={VocabSize}, layers={Layers}, heads={Heads}, dim={Dim}, context={Context})";

    private void InitLikeNanoGpt(Rng rng)
    {
        float residualStd = 0.02f / MathF.Sqrt(2 * Layers);
        Normal(Wte.Weight, 0.02f, rng);
        Normal(Wpe.Weight, 0.02f, rng);
        foreach (var b in Blocks)
        {
            Normal(b.Attn.InProjWeight, 0.02f, rng);
            Normal(b.Attn.OutProj.Weight, residualStd, rng);
            Normal(b.Fc.Weight, 0.02f, rng);
            Normal(b.Proj.Weight, residualStd, rng);
            b.Attn.InProjBias?.AsSpan().Clear();
            b.Attn.OutProj.Bias?.AsSpan().Clear();
            b.Fc.Bias?.AsSpan().Clear();
            b.Proj.Bias?.AsSpan().Clear();
        }
        Normal(Head.Weight, 0.02f, rng);
    }

    private static void Normal(Tensor t, float std, Rng rng)
    {
        var s = t.AsSpan();
        for (int i = 0; i < s.Length; i++) s[i] = std * rng.NextNormal();
    }
}
