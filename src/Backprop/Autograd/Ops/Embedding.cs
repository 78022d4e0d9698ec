using System.Numerics.Tensors;

namespace Backprop;

// A lookup table as one op: the forward copies rows, the backward adds each row of the gradient into the row it came
// from (a scatter-add), so no one-hot matrix and no matmul is ever formed.
public sealed partial class Tensor
{
    /// <summary>
    /// Rows of <paramref name="weight"/> [V, D] picked by <paramref name="ids"/> (any shape, each in [0, V)):
    /// y[..., :] = W[id, :], shape [...ids, D] (PyTorch's <c>F.embedding</c>). ∂L/∂W[v] = Σ over positions holding v of G.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The weight is not 2-D.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, V).</exception>
    public static Tensor Embedding(Tensor weight, IntTensor ids)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(ids);
        int vocab = CheckTable(weight), dim = weight.dims[1];
        var idx = ids.data;
        for (int i = 0; i < idx.Length; i++)
            if ((uint)idx[i] >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(ids), $"embedding expected ids in [0, {vocab}) but element {i} is {idx[i]}.");
        var y = Uninitialized(Shapes.Appended(ids.dims, dim));
        for (int i = 0; i < idx.Length; i++) weight.data.AsSpan(idx[i] * dim, dim).CopyTo(y.data.AsSpan(i * dim, dim));
        if (y.Record("embedding", EmbeddingBackward, weight) is { } node) node.State = ids;
        return y;
    }

    /// <summary>
    /// The same lookup for ids held as whole floats in a tensor (a batch of token windows), read without copying them
    /// into integers: the caller (<see cref="Nn.Embedding"/>) has checked that each is a whole number in range.
    /// </summary>
    internal static Tensor EmbeddingOfCheckedIds(Tensor weight, Tensor ids)
    {
        CheckTable(weight);
        int dim = weight.dims[1];
        var y = Uninitialized(Shapes.Appended(ids.dims, dim));
        var idx = ids.data;
        for (int i = 0; i < idx.Length; i++) weight.data.AsSpan((int)idx[i] * dim, dim).CopyTo(y.data.AsSpan(i * dim, dim));
        y.Record("embedding", EmbeddingBackward, weight, ids, saves: Saves.Input1);   // a later write to ids is caught
        return y;
    }

    private static int CheckTable(Tensor weight) => weight.Rank == 2 ? weight.dims[0]
        : throw new ShapeMismatchException($"embedding expected a weight [num_embeddings, dim] but got {Shapes.Format(weight.dims)}.");

    // ∂W: row id gets the sum of ∂L/∂y over the positions that looked it up. The ids are an IntTensor in node.State,
    // or the second input (whole floats).
    private static readonly GradNode.StaticBackward EmbeddingBackward = static (node, g) =>
    {
        var weight = node.Inputs[0];
        int dim = weight.dims[1];
        var dw = Empty(weight.dims);
        if (node.State is IntTensor ints)
        {
            var idx = ints.data;
            for (int i = 0; i < idx.Length; i++) AddRow(dw.data, idx[i], g.data, i, dim);
        }
        else
        {
            var idx = node.Inputs[1].data;
            for (int i = 0; i < idx.Length; i++) AddRow(dw.data, (int)idx[i], g.data, i, dim);
        }
        weight.AccumulateOwnedGrad(dw);
    };

    private static void AddRow(float[] dw, int id, float[] g, int position, int dim)
    {
        var row = dw.AsSpan(id * dim, dim);
        TensorPrimitives.Add(row, g.AsSpan(position * dim, dim), row);
    }
}
