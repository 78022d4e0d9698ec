using System.Numerics.Tensors;

namespace Backprop;

// Selecting along any axis, adding and removing size-1 axes, and repeating. Squeeze and Unsqueeze are views (they
// share storage, as Reshape does); Narrow, Select, Expand and Repeat make copies with PyTorch's values and gradients.
public sealed partial class Tensor
{
    /// <summary>
    /// Elements <paramref name="start"/> .. start+length−1 along <paramref name="axis"/> (PyTorch's <c>narrow</c>, or
    /// <c>x[:, start:start+length]</c>); a copy. The gradient flows back to that block.
    /// </summary>
    public Tensor Narrow(int axis, int start, int length)
    {
        var (outer, n, inner, ax) = AxisView(axis, "Narrow");
        if (start < 0 || length < 0 || start + length > n)
            throw new ArgumentOutOfRangeException(nameof(start), $"Narrow: elements {start}..{start + length - 1} of axis {ax} are out of range for its length {n} (shape {Shapes.Format(dims)}).");
        Span<int> outDims = stackalloc int[Rank];
        dims.CopyTo(outDims);
        outDims[ax] = length;
        var r = Uninitialized(Shapes.Interned(outDims));
        int block = length * inner, row = n * inner;
        for (int o = 0; o < outer; o++) Array.Copy(data, o * row + start * inner, r.data, o * block, block);
        if (r.Record("narrow", NarrowBackward, this) is { } node) (node.I0, node.I1, node.I2, node.I3) = (outer, row, start * inner, block);
        return r;
    }

    // ∂x: zeros with ∂y's blocks back at their place; outer rows, row length, the block's offset and length in I0 … I3.
    private static readonly GradNode.StaticBackward NarrowBackward = static (node, g) =>
    {
        var input = node.Inputs[0];
        int outer = node.I0, row = node.I1, offset = node.I2, block = node.I3;
        var dx = Empty(input.dims);
        for (int o = 0; o < outer; o++) Array.Copy(g.data, o * block, dx.data, o * row + offset, block);
        input.AccumulateOwnedGrad(dx);
    };

    /// <summary>
    /// The slice at <paramref name="index"/> along <paramref name="axis"/>, with that axis removed (PyTorch's
    /// <c>select</c>: <c>x[i]</c> is <c>x.Select(0, i)</c>, <c>x[:, j]</c> is <c>x.Select(1, j)</c>); a copy.
    /// Negative indices count from the end.
    /// </summary>
    public Tensor Select(int axis, int index)
    {
        int ax = Shapes.NormalizeAxis(axis, Rank, "Select");
        int n = dims[ax];
        if (index < -n || index >= n)
            throw new ArgumentOutOfRangeException(nameof(index), $"Select: index {index} is out of range for axis {ax} of length {n} (shape {Shapes.Format(dims)}).");
        if (index < 0) index += n;
        return Narrow(ax, index, 1).Squeeze(ax);
    }

    /// <summary>Removes <paramref name="axis"/>, which must have length 1; a view.</summary>
    public Tensor Squeeze(int axis)
    {
        int ax = Shapes.NormalizeAxis(axis, Rank, "Squeeze");
        if (dims[ax] != 1)
            throw new ShapeMismatchException($"Squeeze: axis {ax} of {Shapes.Format(dims)} has length {dims[ax]}, not 1.");
        Span<int> shape = stackalloc int[Rank - 1];
        dims.AsSpan(0, ax).CopyTo(shape);
        dims.AsSpan(ax + 1).CopyTo(shape[ax..]);
        return Reshape(shape);
    }

    /// <summary>Removes every axis of length 1; a view.</summary>
    public Tensor Squeeze() => Reshape([.. dims.Where(d => d != 1)]);

    /// <summary>Inserts an axis of length 1 at <paramref name="axis"/> (0 ≤ axis ≤ rank, or negative from the end); a view.</summary>
    public Tensor Unsqueeze(int axis)
    {
        int ax = Shapes.NormalizeAxis(axis, Rank + 1, "Unsqueeze");
        Span<int> shape = stackalloc int[Rank + 1];
        dims.AsSpan(0, ax).CopyTo(shape);
        shape[ax] = 1;
        dims.AsSpan(ax).CopyTo(shape[(ax + 1)..]);
        return Reshape(shape);
    }

    /// <summary>
    /// Broadcasts to <paramref name="shape"/> (PyTorch's <c>expand</c>; −1 keeps a dimension): size-1 dimensions are
    /// repeated and new leading ones added. A copy; the gradient sums over the repeated copies.
    /// </summary>
    public Tensor Expand(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length < Rank)
            throw new ShapeMismatchException($"Expand: {Shapes.Format(shape)} has fewer dimensions than {Shapes.Format(dims)}.");
        var target = (int[])shape.Clone();
        for (int i = 0; i < Rank; i++)
        {
            int t = target.Length - Rank + i;
            if (target[t] == -1) target[t] = dims[i];
            if (dims[i] != 1 && dims[i] != target[t])
                throw new ShapeMismatchException($"Expand: cannot expand {Shapes.Format(dims)} to {Shapes.Format(shape)}: dimension {i} has length {dims[i]}, which is neither 1 nor {target[t]}.");
        }
        Shapes.Validate(target);
        var r = Uninitialized(Shapes.Interned(target));
        Kernels.Broadcast.Binary<Kernels.AddKernel>(data, dims, Zero, [], r.data, r.dims);
        r.Record("expand", ExpandBackward, this);
        return r;
    }

    private static readonly float[] Zero = [0f];

    private static readonly GradNode.StaticBackward ExpandBackward = static (node, g) => AccumulateBroadcastGrad(node.Inputs[0], g);

    /// <summary>
    /// Tiles the tensor <paramref name="repeats"/>[i] times along each dimension (PyTorch's <c>repeat</c>; extra
    /// leading repeats add dimensions). A copy; the gradient sums over the tiles.
    /// </summary>
    public Tensor Repeat(params int[] repeats)
    {
        ArgumentNullException.ThrowIfNull(repeats);
        if (repeats.Length < Rank)
            throw new ShapeMismatchException($"Repeat: {repeats.Length} repeat counts for a tensor of rank {Rank} ({Shapes.Format(dims)}); give at least one per dimension.");
        if (repeats.Any(k => k < 0)) throw new ArgumentOutOfRangeException(nameof(repeats), $"Repeat: counts {Shapes.Format(repeats)} must not be negative.");
        // As [1, ..., d0, ..., dn] interleaved with the repeats: expand [k0, 1, k1, d0, ...] then reshape.
        int lead = repeats.Length - Rank;
        var padded = new int[repeats.Length];
        for (int i = 0; i < padded.Length; i++) padded[i] = i < lead ? 1 : dims[i - lead];
        var interleavedSource = new int[2 * padded.Length];
        var interleavedTarget = new int[2 * padded.Length];
        for (int i = 0; i < padded.Length; i++)
        {
            interleavedSource[2 * i] = 1;
            interleavedSource[2 * i + 1] = padded[i];
            interleavedTarget[2 * i] = repeats[i];
            interleavedTarget[2 * i + 1] = padded[i];
        }
        var outDims = new int[padded.Length];
        for (int i = 0; i < outDims.Length; i++) outDims[i] = padded[i] * repeats[i];
        return Reshape(interleavedSource).Expand(interleavedTarget).Reshape(outDims);
    }
}
