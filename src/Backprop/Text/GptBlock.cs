using Backprop.Nn;

namespace Backprop.Text;

/// <summary>
/// One pre-LayerNorm transformer block of <see cref="Gpt"/> (GPT-2's): x + drop(attn(ln_1(x))), then
/// x + drop(mlp(ln_2(x))) with mlp = c_proj(GELU(c_fc(·))) widening to 4·dim. Input and output [B, T, dim].
/// </summary>
public sealed class GptBlock : Module
{
    /// <summary>Creates a block of <paramref name="dim"/> features and <paramref name="heads"/> causal heads.</summary>
    public GptBlock(int dim, int heads, float dropout, Rng rng)
    {
        Ln1 = new LayerNorm(dim);
        Attn = new MultiHeadAttention(dim, heads, causal: true, dropout: dropout, rng: rng);
        Ln2 = new LayerNorm(dim);
        Fc = new Linear(dim, 4 * dim, rng: rng);
        Proj = new Linear(4 * dim, dim, rng: rng);
        Drop = new Dropout(dropout, new Rng(((long)rng.NextUInt() << 32) | rng.NextUInt()));
    }

    /// <summary>The norm before attention.</summary>
    public LayerNorm Ln1 { get; }

    /// <summary>Causal multi-head self-attention.</summary>
    public MultiHeadAttention Attn { get; }

    /// <summary>The norm before the MLP.</summary>
    public LayerNorm Ln2 { get; }

    /// <summary>The MLP's widening projection dim → 4·dim.</summary>
    public Linear Fc { get; }

    /// <summary>The MLP's projection back 4·dim → dim.</summary>
    public Linear Proj { get; }

    /// <summary>Residual dropout after attention and after the MLP.</summary>
    public Dropout Drop { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var x = input + Drop.Forward(Attn.Forward(Ln1.Forward(input)));
        return x + Drop.Forward(Mlp(Ln2.Forward(x)));
    }

    /// <summary>c_proj(GELU(c_fc(h))) of h [*, dim].</summary>
    internal Tensor Mlp(Tensor h) => Proj.Forward(Fc.Forward(h).Gelu());

    /// <inheritdoc/>
    public override IEnumerable<(string Name, Module Module)> Children()
    {
        yield return ("ln_1", Ln1);
        yield return ("attn", Attn);
        yield return ("ln_2", Ln2);
        yield return ("mlp.c_fc", Fc);
        yield return ("mlp.c_proj", Proj);
        yield return ("drop", Drop);
    }

    /// <inheritdoc/>
    public override string ToString() => $"Block(dim={Attn.Dim}, heads={Attn.Heads})";
}
