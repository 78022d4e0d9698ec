namespace Backprop;

// Ops that move or select elements without arithmetic. Their backward moves the gradient back the same way.
public sealed partial class Tensor
{
    /// <summary>
    /// The same elements in a new shape (one dimension may be −1 and is inferred). Shares storage with this tensor.
    /// </summary>
    public Tensor Reshape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return Reshape(shape.AsSpan());
    }

    /// <summary>
    /// <see cref="Reshape(int[])"/> for a shape written in place (<c>x.Reshape(n, -1)</c>): no array is allocated.
    /// </summary>
    public Tensor Reshape(params ReadOnlySpan<int> shape)
    {
        Span<int> newDims = stackalloc int[shape.Length];
        shape.CopyTo(newDims);
        int infer = newDims.IndexOf(-1);
        if (infer >= 0)
        {
            if (newDims[(infer + 1)..].Contains(-1))
                throw new ShapeMismatchException($"reshape: {Shapes.Format(shape)} has more than one -1.");
            int known = 1;
            for (int i = 0; i < newDims.Length; i++) if (i != infer) known *= newDims[i];
            if (known == 0 || Size % known != 0)
                throw new ShapeMismatchException($"reshape: cannot reshape {Shapes.Format(dims)} ({Size} elements) to {Shapes.Format(shape)}.");
            newDims[infer] = Size / known;
        }
        foreach (int d in newDims)
            if (d < 0) Shapes.Validate(newDims.ToArray());   // throws, naming the shape
        if (Shapes.Size(newDims) != Size)
            throw new ShapeMismatchException($"reshape: cannot reshape {Shapes.Format(dims)} ({Size} elements) to {Shapes.Format(shape)}.");
        var r = TensorArena.NewView(Shapes.Interned(newDims), this).ViewOf(this);
        r.Record("reshape", ReshapeBackward, this);
        return r;
    }

    // The gradient in the input's shape: the same floats, seen through a view.
    private static readonly GradNode.StaticBackward ReshapeBackward = static (node, g) =>
    {
        var input = node.Inputs[0];
        input.AccumulateGrad(TensorArena.NewView(input.dims, g));
    };

    /// <summary>Flattens every dimension after the first: [n, a, b, ...] → [n, a·b·...].</summary>
    public Tensor Flatten() => Rank <= 1 ? Reshape(Size) : Reshape(dims[0], -1);

    /// <summary>Transpose of a rank-2 tensor: [m, n] → [n, m].</summary>
    public Tensor T()
    {
        if (Rank != 2) throw new ShapeMismatchException($"T(): needs a rank-2 tensor but got {Shapes.Format(dims)}; use Transpose(a, b).");
        return Transpose(0, 1);
    }

    /// <summary>Swaps two dimensions (a copy).</summary>
    public Tensor Transpose(int axis0, int axis1)
    {
        Span<int> perm = stackalloc int[Rank];
        for (int i = 0; i < perm.Length; i++) perm[i] = i;
        int a = Shapes.NormalizeAxis(axis0, Rank, "Transpose"), b = Shapes.NormalizeAxis(axis1, Rank, "Transpose");
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(perm);
    }

    /// <summary>Reorders dimensions: result dimension i is this tensor's dimension perm[i] (a copy).</summary>
    public Tensor Permute(params int[] perm)
    {
        ArgumentNullException.ThrowIfNull(perm);
        return Permute(perm.AsSpan());
    }

    /// <summary><see cref="Permute(int[])"/> for an order written in place: no array is allocated.</summary>
    public Tensor Permute(params ReadOnlySpan<int> perm)
    {
        Span<bool> seen = stackalloc bool[Rank];
        bool valid = perm.Length == Rank;
        foreach (int p in perm)
        {
            valid &= p >= 0 && p < Rank && !seen[p];
            if (valid) seen[p] = true;
        }
        if (!valid)
            throw new ShapeMismatchException($"permute: {Shapes.Format(perm)} is not a permutation of the {Rank} dimensions of {Shapes.Format(dims)}.");
        Span<int> newDims = stackalloc int[Rank];
        for (int i = 0; i < Rank; i++) newDims[i] = dims[perm[i]];
        var r = Empty(Shapes.Interned(newDims));
        CopyPermuted(data, dims, perm, r.data);
        if (r.Record("permute", PermuteBackward, this) is { } node)
        {
            // The inverse order (where each input axis went), packed four bits an axis for rank ≤ 8, else kept whole.
            Span<int> inverse = stackalloc int[Rank];
            for (int i = 0; i < Rank; i++) inverse[perm[i]] = i;
            if (Rank <= 8) node.I0 = PackAxes(inverse);
            else node.State = inverse.ToArray();
        }
        return r;
    }

    private static readonly GradNode.StaticBackward PermuteBackward = static (node, g) =>
    {
        var input = node.Inputs[0];
        Span<int> inverse = stackalloc int[input.Rank];
        if (node.State is int[] whole) whole.CopyTo(inverse);
        else UnpackAxes(node.I0, inverse);
        var dx = Empty(input.dims);
        CopyPermuted(g.data, g.dims, inverse, dx.data);
        input.AccumulateOwnedGrad(dx);
    };

    private static int PackAxes(ReadOnlySpan<int> axes)
    {
        int packed = 0;
        for (int i = 0; i < axes.Length; i++) packed |= axes[i] << (4 * i);
        return packed;
    }

    private static void UnpackAxes(int packed, Span<int> axes)
    {
        for (int i = 0; i < axes.Length; i++) axes[i] = (packed >> (4 * i)) & 0xF;
    }

    private static void CopyPermuted(float[] src, int[] srcDims, ReadOnlySpan<int> perm, float[] dst)
    {
        int rank = srcDims.Length;
        Span<int> srcStrides = stackalloc int[rank], dstDims = stackalloc int[rank], readStrides = stackalloc int[rank], idx = stackalloc int[rank];
        for (int i = rank - 1, stride = 1; i >= 0; stride *= srcDims[i], i--) srcStrides[i] = stride;
        for (int i = 0; i < rank; i++) { dstDims[i] = srcDims[perm[i]]; readStrides[i] = srcStrides[perm[i]]; }   // stride in src per dst axis
        int at = 0;
        for (int o = 0; o < dst.Length; o++)
        {
            dst[o] = src[at];
            for (int d = rank - 1; d >= 0; d--)
            {
                idx[d]++;
                at += readStrides[d];
                if (idx[d] < dstDims[d]) break;
                at -= readStrides[d] * dstDims[d];
                idx[d] = 0;
            }
        }
    }

    /// <summary>
    /// The rows (entries along the first dimension) at <paramref name="indices"/>, in that order: how a batch is
    /// gathered from a dataset. Backward scatters (adds) the gradient back to those rows.
    /// </summary>
    public Tensor Rows(ReadOnlySpan<int> indices)
    {
        if (Rank == 0) throw new ShapeMismatchException("rows: a scalar has no rows.");
        int rowSize = Size / Math.Max(1, dims[0]);
        Span<int> newDims = stackalloc int[Rank];
        dims.CopyTo(newDims);
        newDims[0] = indices.Length;
        var r = Uninitialized(Shapes.Interned(newDims));
        for (int i = 0; i < indices.Length; i++)
        {
            if ((uint)indices[i] >= (uint)dims[0])
                throw new IndexOutOfRangeException($"rows: index {indices[i]} is out of range for {dims[0]} rows (shape {Shapes.Format(dims)}).");
            Array.Copy(data, indices[i] * rowSize, r.data, i * rowSize, rowSize);
        }
        // Gathering a batch records nothing: only a recorded gather copies the indices (and makes its closure).
        return GradMode.IsEnabled && RequiresGrad ? RecordRows(r, indices.ToArray(), rowSize) : r;
    }

    private Tensor RecordRows(Tensor r, int[] idx, int rowSize) =>
        r.Record("rows", [this], g =>
        {
            var dx = Empty(dims);
            for (int i = 0; i < idx.Length; i++)
            {
                var dst = dx.data.AsSpan(idx[i] * rowSize, rowSize);
                System.Numerics.Tensors.TensorPrimitives.Add(dst, g.data.AsSpan(i * rowSize, rowSize), dst);
            }
            AccumulateOwnedGrad(dx);
        });

    /// <summary>Rows <paramref name="start"/> .. start+count−1 along the first dimension (a copy).</summary>
    public Tensor Slice(int start, int count)
    {
        if (Rank == 0) throw new ShapeMismatchException("slice: a scalar has no rows.");
        if (start < 0 || count < 0 || start + count > dims[0])
            throw new ArgumentOutOfRangeException(nameof(start), $"slice: rows {start}..{start + count - 1} are out of range for {dims[0]} rows (shape {Shapes.Format(dims)}).");
        int rowSize = dims[0] == 0 ? 0 : Size / dims[0];
        Span<int> newDims = stackalloc int[Rank];
        dims.CopyTo(newDims);
        newDims[0] = count;
        var r = Empty(Shapes.Interned(newDims));
        Array.Copy(data, start * rowSize, r.data, 0, count * rowSize);
        if (r.Record("slice", SliceBackward, this) is { } node) (node.I0, node.I1) = (start * rowSize, count * rowSize);
        return r;
    }

    // ∂x: zeros with ∂y at the slice's place (its offset and length in I0, I1).
    private static readonly GradNode.StaticBackward SliceBackward = static (node, g) =>
    {
        var input = node.Inputs[0];
        var dx = Empty(input.dims);
        Array.Copy(g.data, 0, dx.data, node.I0, node.I1);
        input.AccumulateOwnedGrad(dx);
    };
}
