using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// A fully connected layer: <c>Y = X·W + b</c>.
/// </summary>
/// <remarks>
/// Weight layout: <see cref="Weight"/> is stored as [in, out] — the seeds' matrix form <c>H_in = X·W1</c> with W1 of
/// shape 4×2 — so a batch X of shape [batch, in] is multiplied on the right without a transpose. (The per-neuron
/// form <c>z = W·x + b</c> of seed 003 uses the transpose of this matrix, out×in, as PyTorch's nn.Linear stores it.)
/// </remarks>
public sealed class Dense : Module
{
    /// <summary>Creates a layer with <paramref name="inFeatures"/> inputs and <paramref name="outFeatures"/> outputs.</summary>
    /// <param name="inFeatures">Size of each input row.</param>
    /// <param name="outFeatures">Number of neurons (size of each output row).</param>
    /// <param name="bias">Whether to add a learned bias b of shape [out].</param>
    /// <param name="init">Weight initializer (default: U(±1/√in), as PyTorch); the bias uses the same bound.</param>
    /// <param name="rng">Generator for the initial values; default <see cref="Init.DefaultRng"/>.</param>
    public Dense(int inFeatures, int outFeatures, bool bias = true, Initializer? init = null, Rng? rng = null)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Dense({inFeatures}→{outFeatures}): sizes must be positive.");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        rng ??= Init.DefaultRng;
        Weight = Init.Parameter([inFeatures, outFeatures], inFeatures, outFeatures, rng, init);
        if (bias) Bias = Init.Parameter([outFeatures], inFeatures, outFeatures, rng);
    }

    /// <summary>Number of inputs per row.</summary>
    public int InFeatures { get; }

    /// <summary>Number of outputs per row.</summary>
    public int OutFeatures { get; }

    /// <summary>W, shape [in, out].</summary>
    public Tensor Weight { get; }

    /// <summary>b, shape [out], or null for a layer without bias.</summary>
    public Tensor? Bias { get; }

    /// <summary>Y[batch, out] = X[batch, in]·W[in, out] + b[out] (b broadcast over rows).</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 2 || input.Shape[1] != InFeatures)
            throw new ShapeMismatchException($"{this} expected input [*, {InFeatures}] but got {Shapes.Format(input.dims)}.");
        var y = input.MatMul(Weight);
        return Bias is null ? y : y + Bias;
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Tensor Parameter)> OwnParameters()
    {
        yield return ("weight", Weight);
        if (Bias is not null) yield return ("bias", Bias);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new() { ["type"] = "Dense", ["in"] = InFeatures, ["out"] = OutFeatures, ["bias"] = Bias is not null };

    /// <inheritdoc/>
    public override string ToString() => $"Dense({InFeatures}→{OutFeatures}{(Bias is null ? ", no bias" : "")})";
}
