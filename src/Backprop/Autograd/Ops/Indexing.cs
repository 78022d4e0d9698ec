namespace Backprop;

// Selecting by integer indices along an axis, and sorting. Each forward records which source element every result
// element came from; the backward adds the gradient back there (a scatter-add, so repeated indices accumulate).
public sealed partial class Tensor
{
    /// <summary>
    /// The slices at <paramref name="indices"/> (1-D) along <paramref name="axis"/>, in that order, repeats allowed
    /// (PyTorch's <c>index_select</c>): the axis's length becomes the number of indices.
    /// </summary>
    public Tensor IndexSelect(int axis, IntTensor indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Rank != 1) throw new ShapeMismatchException($"IndexSelect: indices must be 1-D but have shape {Shapes.Format(indices.dims)}.");
        return IndexSelect(axis, indices.data);
    }

    /// <summary>The slices at <paramref name="indices"/> along <paramref name="axis"/> (see <see cref="IndexSelect(int, IntTensor)"/>).</summary>
    public Tensor IndexSelect(int axis, params int[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var (outer, n, inner, ax) = AxisView(axis, "IndexSelect");
        foreach (int i in indices)
            if ((uint)i >= (uint)n)
                throw new IndexOutOfRangeException($"IndexSelect: index {i} is out of range for axis {ax} of length {n} (shape {Shapes.Format(dims)}).");
        var idx = (int[])indices.Clone();
        var outDims = (int[])dims.Clone();
        outDims[ax] = idx.Length;
        var r = Uninitialized(outDims);
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < idx.Length; j++)
                Array.Copy(data, (o * n + idx[j]) * inner, r.data, (o * idx.Length + j) * inner, inner);
        return r.Record("index_select", [this], g =>
        {
            var dx = Empty(dims);
            for (int o = 0; o < outer; o++)
                for (int j = 0; j < idx.Length; j++)
                {
                    var dst = dx.data.AsSpan((o * n + idx[j]) * inner, inner);
                    System.Numerics.Tensors.TensorPrimitives.Add(dst, g.data.AsSpan((o * idx.Length + j) * inner, inner), dst);
                }
            AccumulateOwnedGrad(dx);
        });
    }

    /// <summary>
    /// PyTorch's <c>gather</c>: out[i][j][k] = x[index[i][j][k]][j][k] for axis 0 (the index replaces the position
    /// along <paramref name="axis"/>). <paramref name="index"/> has this tensor's rank, and no dimension longer than
    /// this tensor's except along the axis; the result has the index's shape.
    /// </summary>
    public Tensor Gather(int axis, IntTensor index)
    {
        var sources = GatherSources(axis, index, "Gather");
        var r = Uninitialized((int[])index.dims.Clone());
        for (int p = 0; p < sources.Length; p++) r.data[p] = data[sources[p]];
        return r.Record("gather", [this], g =>
        {
            var dx = Empty(dims);
            for (int p = 0; p < sources.Length; p++) dx.data[sources[p]] += g.data[p];
            AccumulateOwnedGrad(dx);
        });
    }

    /// <summary>
    /// PyTorch's <c>scatter_add</c> (not in place): a copy of this tensor with src[i][j][k] added at
    /// [index[i][j][k]][j][k] for axis 0. <paramref name="index"/> is shaped as for <see cref="Gather"/> and no larger
    /// than <paramref name="source"/> in any dimension. Gradients: this tensor's is the result's; the source's is the
    /// result's gradient gathered at the same places.
    /// </summary>
    public Tensor ScatterAdd(int axis, IntTensor index, Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var targets = GatherSources(axis, index, "ScatterAdd");
        if (source.Rank != index.Rank || Enumerable.Range(0, index.Rank).Any(d => index.dims[d] > source.dims[d]))
            throw new ShapeMismatchException($"ScatterAdd: index of shape {Shapes.Format(index.dims)} must have the source's rank and no dimension longer than the source's {Shapes.Format(source.dims)}.");
        var fromSource = PositionsIn(index.dims, source.dims);
        var r = Uninitialized(dims);
        data.AsSpan().CopyTo(r.data);
        for (int p = 0; p < targets.Length; p++) r.data[targets[p]] += source.data[fromSource[p]];
        return r.Record("scatter_add", [this, source], g =>
        {
            if (RequiresGrad) AccumulateGrad(g);
            if (source.RequiresGrad)
            {
                var ds = Empty(source.dims);
                for (int p = 0; p < targets.Length; p++) ds.data[fromSource[p]] = g.data[targets[p]];
                source.AccumulateOwnedGrad(ds);
            }
        });
    }

    /// <summary>
    /// Sorts along <paramref name="axis"/> (ascending unless <paramref name="descending"/>; stable: equal values keep
    /// their order; NaN last ascending, first descending), returning the sorted values and, for each, its index along
    /// the axis in the input. The values' gradient flows back to where each came from.
    /// </summary>
    public (Tensor Values, IntTensor Indices) Sort(int axis = -1, bool descending = false)
    {
        var (_, n, _, ax) = AxisView(axis, "Sort");
        return SortedPrefix(ax, n, descending, "sort");
    }

    /// <summary>
    /// The <paramref name="k"/> largest (or, with <paramref name="largest"/> false, smallest) values along
    /// <paramref name="axis"/>, in order, with their indices (PyTorch's <c>topk</c>, sorted).
    /// </summary>
    public (Tensor Values, IntTensor Indices) TopK(int k, int axis = -1, bool largest = true)
    {
        var (_, n, _, ax) = AxisView(axis, "TopK");
        if (k < 0 || k > n) throw new ArgumentOutOfRangeException(nameof(k), $"TopK: k = {k} but axis {ax} has {n} element(s) (shape {Shapes.Format(dims)}).");
        return SortedPrefix(ax, k, largest, "topk");
    }

    // The first `keep` elements of every line along ax in sorted order, and their indices.
    private (Tensor Values, IntTensor Indices) SortedPrefix(int ax, int keep, bool descending, string op)
    {
        var (outer, n, inner, _) = AxisView(ax, op);
        var outDims = (int[])dims.Clone();
        outDims[ax] = keep;
        var values = Uninitialized(outDims);
        var indices = new int[values.Size];
        var sources = new int[values.Size];
        var order = new int[n];
        var line = new float[n];
        for (int o = 0; o < outer; o++)
            for (int k = 0; k < inner; k++)
            {
                for (int j = 0; j < n; j++) { order[j] = j; line[j] = data[(o * n + j) * inner + k]; }
                var keys = line;
                Comparison<int> compare = descending
                    ? (a, b) => NaNLast(keys[b], keys[a]) is var c && c != 0 ? c : a.CompareTo(b)
                    : (a, b) => NaNLast(keys[a], keys[b]) is var c && c != 0 ? c : a.CompareTo(b);
                Array.Sort(order, compare);
                for (int j = 0; j < keep; j++)
                {
                    int at = (o * keep + j) * inner + k;
                    indices[at] = order[j];
                    sources[at] = (o * n + order[j]) * inner + k;
                    values.data[at] = data[sources[at]];
                }
            }
        var r = values.Record(op, [this], g =>
        {
            var dx = Empty(dims);
            for (int p = 0; p < sources.Length; p++) dx.data[sources[p]] += g.data[p];
            AccumulateOwnedGrad(dx);
        });
        return (r, new IntTensor((int[])outDims.Clone(), indices));

        // Ascending order with NaN above every number (so last ascending, first descending, as PyTorch).
        static int NaNLast(float a, float b) => float.IsNaN(a) ? (float.IsNaN(b) ? 0 : 1) : float.IsNaN(b) ? -1 : a.CompareTo(b);
    }

    // For every position of index (row-major), the flat offset in this tensor it selects: the position with the
    // coordinate along the axis replaced by the index value.
    private int[] GatherSources(int axis, IntTensor index, string op)
    {
        ArgumentNullException.ThrowIfNull(index);
        int ax = Shapes.NormalizeAxis(axis, Rank, op);
        if (index.Rank != Rank || Enumerable.Range(0, Rank).Any(d => d != ax && index.dims[d] > dims[d]))
            throw new ShapeMismatchException($"{op}: index of shape {Shapes.Format(index.dims)} must have the rank of {Shapes.Format(dims)} and no dimension longer than it except along axis {ax}.");
        var strides = Shapes.Strides(dims);
        var pos = new int[Rank];
        var result = new int[index.Size];
        for (int p = 0; p < result.Length; p++)
        {
            int v = index.data[p];
            if ((uint)v >= (uint)dims[ax])
                throw new IndexOutOfRangeException($"{op}: index {v} is out of range for axis {ax} of length {dims[ax]} (shape {Shapes.Format(dims)}).");
            int at = 0;
            for (int d = 0; d < Rank; d++) at += (d == ax ? v : pos[d]) * strides[d];
            result[p] = at;
            for (int d = Rank - 1; d >= 0 && ++pos[d] == index.dims[d]; d--) pos[d] = 0;
        }
        return result;
    }

    // For every position of `shape` (row-major), its flat offset in a tensor of shape `within` (each dimension at least as long).
    private static int[] PositionsIn(int[] shape, int[] within)
    {
        var strides = Shapes.Strides(within);
        var pos = new int[shape.Length];
        var result = new int[Shapes.Size(shape)];
        for (int p = 0; p < result.Length; p++)
        {
            int at = 0;
            for (int d = 0; d < shape.Length; d++) at += pos[d] * strides[d];
            result[p] = at;
            for (int d = shape.Length - 1; d >= 0 && ++pos[d] == shape[d]; d--) pos[d] = 0;
        }
        return result;
    }
}
