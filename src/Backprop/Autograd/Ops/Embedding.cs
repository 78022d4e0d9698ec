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
        if (weight.Rank != 2)
            throw new ShapeMismatchException($"embedding expected a weight [num_embeddings, dim] but got {Shapes.Format(weight.dims)}.");
        int vocab = weight.dims[0], dim = weight.dims[1];
        var idx = ids.data;
        for (int i = 0; i < idx.Length; i++)
            if ((uint)idx[i] >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(ids), $"embedding expected ids in [0, {vocab}) but element {i} is {idx[i]}.");
        var y = Uninitialized([.. ids.dims, dim]);
        for (int i = 0; i < idx.Length; i++) weight.data.AsSpan(idx[i] * dim, dim).CopyTo(y.data.AsSpan(i * dim, dim));
        return y.Record("embedding", [weight], g =>
        {
            var dw = Empty(weight.dims);
            for (int i = 0; i < idx.Length; i++)
            {
                var row = dw.data.AsSpan(idx[i] * dim, dim);
                TensorPrimitives.Add(row, g.data.AsSpan(i * dim, dim), row);
            }
            weight.AccumulateOwnedGrad(dw);
        });
    }
}
