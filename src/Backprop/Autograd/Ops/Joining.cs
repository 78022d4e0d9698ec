namespace Backprop;

// Joining and splitting along an axis. Every tensor is viewed as [outer, n, inner] around the axis (see AxisView):
// joining copies each input's [n_i·inner] block of every outer row side by side; the backward hands each input back
// its block of the gradient. All results are copies.
public sealed partial class Tensor
{
    /// <summary>
    /// Joins tensors along an existing <paramref name="axis"/> (PyTorch's <c>torch.cat</c>); every other dimension
    /// must match. The gradient of each input is its block of the result's gradient.
    /// </summary>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        return Concat(tensors switch
        {
            Tensor[] array => array,
            List<Tensor> list => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list),
            _ => [.. tensors],
        }, axis);
    }

    /// <summary><see cref="Concat(IReadOnlyList{Tensor}, int)"/> of a span (e.g. <c>[a, b]</c> on the stack): no array per call.</summary>
    internal static Tensor Concat(ReadOnlySpan<Tensor> tensors, int axis)
    {
        if (tensors.Length == 0) throw new ArgumentException("Concat: needs at least one tensor.");
        var first = tensors[0] ?? throw new ArgumentNullException(nameof(tensors), "Concat: tensor 0 is null.");
        if (first.Rank == 0) throw new ShapeMismatchException("Concat: scalars have no axis to join along; use Stack.");
        int ax = Shapes.NormalizeAxis(axis, first.Rank, "Concat"), total = 0;
        for (int t = 0; t < tensors.Length; t++)
        {
            var x = tensors[t] ?? throw new ArgumentNullException(nameof(tensors), $"Concat: tensor {t} is null.");
            bool fits = x.Rank == first.Rank;
            for (int d = 0; fits && d < x.Rank; d++) fits = d == ax || x.dims[d] == first.dims[d];
            if (!fits)
                throw new ShapeMismatchException($"Concat along axis {ax}: tensor {t} has shape {Shapes.Format(x.dims)} but tensor 0 has {Shapes.Format(first.dims)}; every dimension but the axis must match.");
            total += x.dims[ax];
        }
        var (outer, _, inner, _) = first.AxisView(ax, "Concat");
        Span<int> outDims = stackalloc int[first.Rank];
        first.dims.CopyTo(outDims);
        outDims[ax] = total;
        var r = Uninitialized(Shapes.Interned(outDims));
        for (int o = 0, at = 0; o < outer; o++)
            for (int t = 0; t < tensors.Length; t++)
            {
                int block = tensors[t].dims[ax] * inner;
                Array.Copy(tensors[t].data, o * block, r.data, at, block);
                at += block;
            }
        if (r.Record("concat", ConcatBackward, tensors!, Saves.None) is { } node) (node.I0, node.I1, node.I2) = (ax, outer, inner);
        return r;
    }

    // Each input gets its block of every outer row of ∂y back; the axis, outer rows and inner size in I0 … I2.
    private static readonly GradNode.StaticBackward ConcatBackward = static (node, g) =>
    {
        int ax = node.I0, outer = node.I1, inner = node.I2, row = g.dims[ax] * inner;
        var inputs = node.Inputs;
        for (int t = 0, offset = 0; t < inputs.Length; offset += inputs[t].dims[ax] * inner, t++)
        {
            if (!inputs[t].RequiresGrad) continue;
            int block = inputs[t].dims[ax] * inner;
            var dx = Uninitialized(inputs[t].dims);
            for (int o = 0; o < outer; o++) Array.Copy(g.data, o * row + offset, dx.data, o * block, block);
            inputs[t].AccumulateOwnedGrad(dx);
        }
    };

    /// <summary>
    /// Joins tensors of one shape along a new <paramref name="axis"/> (PyTorch's <c>torch.stack</c>): the result
    /// has one more dimension, of length <c>tensors.Count</c>.
    /// </summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) throw new ArgumentException("Stack: needs at least one tensor.");
        var first = tensors[0] ?? throw new ArgumentNullException(nameof(tensors), "Stack: tensor 0 is null.");
        int ax = Shapes.NormalizeAxis(axis, first.Rank + 1, "Stack");
        for (int t = 1; t < tensors.Count; t++)
            if (tensors[t] is null || !Shapes.Equal(tensors[t].dims, first.dims))
                throw new ShapeMismatchException($"Stack: tensor {t} has shape {(tensors[t] is null ? "null" : Shapes.Format(tensors[t].dims))} but tensor 0 has {Shapes.Format(first.dims)}; all must be equal.");
        return Concat([.. tensors.Select(x => x.Unsqueeze(ax))], ax);
    }

    /// <summary>
    /// Splits along <paramref name="axis"/> into pieces of <paramref name="size"/> (the last may be shorter), as
    /// PyTorch's <c>torch.split(tensor, size, dim)</c>. Each piece is a copy whose gradient flows back to its block.
    /// </summary>
    public Tensor[] Split(int size, int axis = 0)
    {
        int ax = Shapes.NormalizeAxis(axis, Rank, "Split");
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), $"Split: the piece size must be positive but got {size}.");
        int n = dims[ax];
        var pieces = new Tensor[Math.Max(1, (n + size - 1) / size)];
        for (int i = 0; i < pieces.Length; i++) pieces[i] = Narrow(ax, i * size, Math.Min(size, n - i * size));
        return pieces;
    }

    /// <summary>
    /// Splits along <paramref name="axis"/> into pieces of the given <paramref name="sizes"/>, which must add up to
    /// the axis's length (PyTorch's <c>torch.split</c> with a list).
    /// </summary>
    public Tensor[] Split(int[] sizes, int axis)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        int ax = Shapes.NormalizeAxis(axis, Rank, "Split");
        if (sizes.Any(s => s < 0) || sizes.Sum() != dims[ax])
            throw new ShapeMismatchException($"Split: sizes {Shapes.Format(sizes)} must be non-negative and add up to {dims[ax]}, the length of axis {ax} of {Shapes.Format(dims)}.");
        var pieces = new Tensor[sizes.Length];
        for (int i = 0, start = 0; i < sizes.Length; start += sizes[i], i++) pieces[i] = Narrow(ax, start, sizes[i]);
        return pieces;
    }

    /// <summary>
    /// Splits along <paramref name="axis"/> into <paramref name="chunks"/> pieces of equal length, the last shorter
    /// when the length does not divide (PyTorch's <c>torch.chunk</c>, which may return fewer pieces).
    /// </summary>
    public Tensor[] Chunk(int chunks, int axis = 0)
    {
        if (chunks <= 0) throw new ArgumentOutOfRangeException(nameof(chunks), $"Chunk: the number of chunks must be positive but got {chunks}.");
        int ax = Shapes.NormalizeAxis(axis, Rank, "Chunk");
        return Split(Math.Max(1, (dims[ax] + chunks - 1) / chunks), ax);
    }
}
