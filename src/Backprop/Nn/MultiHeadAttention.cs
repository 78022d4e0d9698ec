using System.Globalization;
using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// Multi-head self-attention over a sequence [B, T, dim] (PyTorch's <c>nn.MultiheadAttention</c> with
/// <c>batch_first=True</c> and query = key = value): <c>q|k|v = x·W_inᵀ + b_in</c>, per head
/// <c>softmax(q·kᵀ/√d)·v</c> with d = dim/heads (each position attending only to itself and earlier ones when
/// <see cref="Causal"/>), the heads side by side, then <c>·W_outᵀ + b_out</c>.
/// </summary>
/// <remarks>
/// Parameters with PyTorch's names and layouts, so its state dict loads by name: <c>in_proj_weight</c> [3·dim, dim]
/// (rows: queries, keys, values), <c>in_proj_bias</c> [3·dim], <c>out_proj.weight</c> [dim, dim] and
/// <c>out_proj.bias</c> [dim]. Initialised as PyTorch does: Xavier-uniform in_proj_weight, U(±1/√dim) out_proj.weight,
/// zero biases. Attention dropout (on the probabilities) applies only while training. The attention itself is one
/// fused op, <see cref="Tensor.SelfAttention"/>, between two <see cref="Tensor.Linear"/> projections.
/// </remarks>
public sealed class MultiHeadAttention : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="dim">Features per position (PyTorch's embed_dim); divisible by <paramref name="heads"/>.</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="causal">Whether position i attends only to positions ≤ i.</param>
    /// <param name="dropout">Dropout on the attention probabilities while training.</param>
    /// <param name="bias">Whether the projections have biases.</param>
    /// <param name="rng">Generator for the initial weights; default <see cref="Init.DefaultRng"/>.</param>
    /// <exception cref="ArgumentException">dim is not a positive multiple of heads, or dropout is not in [0, 1).</exception>
    public MultiHeadAttention(int dim, int heads, bool causal = false, float dropout = 0f, bool bias = true, Rng? rng = null)
    {
        if (dim <= 0 || heads <= 0 || dim % heads != 0)
            throw new ArgumentException($"MultiHeadAttention: dim {dim} must be a positive multiple of heads {heads}.");
        if (!(dropout >= 0f && dropout < 1f))
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, $"MultiHeadAttention: dropout must be in [0, 1) but got {dropout.ToString(CultureInfo.InvariantCulture)}.");
        Dim = dim;
        Heads = heads;
        Causal = causal;
        DropoutP = dropout;
        rng ??= Init.DefaultRng;
        InProjWeight = Tensor.Zeros(3 * dim, dim);
        Init.XavierUniform()(InProjWeight, dim, 3 * dim, rng);
        InProjWeight.RequiresGrad = true;
        if (bias) InProjBias = Tensor.Zeros(3 * dim).RequireGrad();
        OutProj = new Projection(dim, bias, rng);
        Generator = new Rng(((long)rng.NextUInt() << 32) | rng.NextUInt());
    }

    /// <summary>Features per position.</summary>
    public int Dim { get; }

    /// <summary>Number of heads.</summary>
    public int Heads { get; }

    /// <summary>Whether each position attends only to itself and earlier positions.</summary>
    public bool Causal { get; }

    /// <summary>Dropout probability on the attention weights while training.</summary>
    public float DropoutP { get; }

    /// <summary>W_in, [3·dim, dim]: query, key and value projections stacked (PyTorch's <c>in_proj_weight</c>).</summary>
    public Tensor InProjWeight { get; }

    /// <summary>b_in, [3·dim], or null without biases.</summary>
    public Tensor? InProjBias { get; }

    /// <summary>The output projection (<c>out_proj.weight</c> [dim, dim], <c>out_proj.bias</c> [dim]).</summary>
    public Projection OutProj { get; }

    /// <summary>The generator of the attention dropout masks.</summary>
    public Rng Generator { get; }

    /// <summary>Self-attention of x [B, T, dim] → [B, T, dim].</summary>
    /// <exception cref="ShapeMismatchException">The input is not [B, T, dim].</exception>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 3 || input.Shape[2] != Dim)
            throw new ShapeMismatchException($"{this} expected input [batch, seq, {Dim}] but got {Shapes.Format([.. input.Shape])}.");
        var qkv = Tensor.Linear(input, InProjWeight, InProjBias);
        float p = IsTraining ? DropoutP : 0f;
        var heads = Tensor.SelfAttention(qkv, Heads, Causal, p, p > 0f ? Generator : null);
        return OutProj.Forward(heads);
    }

    /// <inheritdoc/>
    public override IEnumerable<(string Name, Module Module)> Children()
    {
        yield return ("out_proj", OutProj);
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Tensor Parameter)> OwnParameters()
    {
        yield return ("in_proj_weight", InProjWeight);
        if (InProjBias is not null) yield return ("in_proj_bias", InProjBias);
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Rng Generator)> OwnGenerators()
    {
        yield return ("generator", Generator);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new()
    {
        ["type"] = "MultiHeadAttention", ["dim"] = Dim, ["heads"] = Heads, ["causal"] = Causal, ["dropout"] = DropoutP,
        ["bias"] = InProjBias is not null,
    };

    /// <inheritdoc/>
    public override string ToString() =>
        $"MultiHeadAttention({Dim}, heads={Heads}{(Causal ? ", causal" : "")}{(DropoutP != 0f ? $", dropout={DropoutP.ToString(CultureInfo.InvariantCulture)}" : "")}{(InProjBias is null ? ", bias=false" : "")})";

    /// <summary>
    /// The output projection y = x·Wᵀ + b with W [dim, dim] in PyTorch's [out, in] layout (its <c>out_proj</c>, an
    /// <c>nn.Linear</c>); a child so its parameters are named <c>out_proj.weight</c> and <c>out_proj.bias</c>.
    /// </summary>
    public sealed class Projection : Module
    {
        internal Projection(int dim, bool bias, Rng rng)
        {
            Weight = Init.Parameter([dim, dim], dim, dim, rng);
            if (bias) Bias = Tensor.Zeros(dim).RequireGrad();
        }

        /// <summary>W [out, in].</summary>
        public Tensor Weight { get; }

        /// <summary>b [out], or null.</summary>
        public Tensor? Bias { get; }

        /// <inheritdoc/>
        public override Tensor Forward(Tensor input) => Tensor.Linear(input, Weight, Bias);

        /// <inheritdoc/>
        protected override IEnumerable<(string Name, Tensor Parameter)> OwnParameters()
        {
            yield return ("weight", Weight);
            if (Bias is not null) yield return ("bias", Bias);
        }

        /// <inheritdoc/>
        public override string ToString() => $"Linear({Weight.Shape[1]}→{Weight.Shape[0]})";
    }
}
