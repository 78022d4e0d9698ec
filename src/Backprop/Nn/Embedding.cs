using System.Globalization;
using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// A lookup table of <see cref="NumEmbeddings"/> vectors of <see cref="Dim"/> values (PyTorch's <c>nn.Embedding</c>):
/// token ids [*] become vectors [*, dim]. The parameter is named <c>weight</c>, [num_embeddings, dim], initialised
/// N(0, 1) as PyTorch does, so a PyTorch state dict loads by name.
/// </summary>
/// <remarks>
/// <see cref="Module.Forward(Tensor)"/> takes the ids as a float tensor of whole numbers (what datasets and the model language
/// deliver; exact up to 2²⁴); each is checked to be a whole number in [0, num_embeddings). <see cref="Forward(IntTensor)"/>
/// takes an <see cref="IntTensor"/>. The gradient of the weight is a scatter-add of the output gradient's rows
/// (<see cref="Tensor.Embedding"/>); no gradient flows to the ids.
/// </remarks>
public sealed class Embedding : Module
{
    /// <summary>Creates a table of <paramref name="numEmbeddings"/> rows of <paramref name="dim"/> values.</summary>
    /// <param name="numEmbeddings">The number of distinct ids (vocabulary size).</param>
    /// <param name="dim">The size of each vector.</param>
    /// <param name="rng">Generator for the initial N(0, 1) values; default <see cref="Init.DefaultRng"/>.</param>
    public Embedding(int numEmbeddings, int dim, Rng? rng = null)
    {
        if (numEmbeddings <= 0 || dim <= 0)
            throw new ArgumentOutOfRangeException(nameof(numEmbeddings), $"Embedding({numEmbeddings}, {dim}): sizes must be positive.");
        NumEmbeddings = numEmbeddings;
        Dim = dim;
        Weight = Tensor.RandomNormal([numEmbeddings, dim], rng ?? Init.DefaultRng).RequireGrad();
    }

    /// <summary>Number of rows (distinct ids).</summary>
    public int NumEmbeddings { get; }

    /// <summary>Size of each vector.</summary>
    public int Dim { get; }

    /// <summary>The table, [num_embeddings, dim].</summary>
    public Tensor Weight { get; }

    /// <summary>The vectors of float-coded ids [*] → [*, dim].</summary>
    /// <exception cref="ArgumentException">An id is not a whole number in [0, num_embeddings).</exception>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var values = input.AsSpan();
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (!(v >= 0 && v < NumEmbeddings) || v != MathF.Floor(v))
                throw new ArgumentException(
                    $"{this} expected token ids, whole numbers in [0, {NumEmbeddings}), but element {i} of input {Shapes.Format([.. input.Shape])} is {v.ToString(CultureInfo.InvariantCulture)}.");
        }
        return Tensor.EmbeddingOfCheckedIds(Weight, input);
    }

    /// <summary>The vectors of ids [*] → [*, dim].</summary>
    /// <exception cref="ArgumentException">An id is outside [0, num_embeddings).</exception>
    public Tensor Forward(IntTensor ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var values = ids.data;
        for (int i = 0; i < values.Length; i++)
            if ((uint)values[i] >= (uint)NumEmbeddings)
                throw new ArgumentException($"{this} expected token ids in [0, {NumEmbeddings}) but element {i} of ids {Shapes.Format(ids.dims)} is {values[i]}.");
        return Tensor.Embedding(Weight, ids);
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Tensor Parameter)> OwnParameters()
    {
        yield return ("weight", Weight);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new() { ["type"] = "Embedding", ["num"] = NumEmbeddings, ["dim"] = Dim };

    /// <inheritdoc/>
    public override string ToString() => $"Embedding({NumEmbeddings}, {Dim})";
}
