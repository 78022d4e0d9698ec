using System.Numerics.Tensors;

namespace Backprop;

// Reductions over all elements or along one axis. A tensor reduced along `axis` is viewed as [outer, n, inner]:
// outer = product of the dimensions before the axis, n = its length, inner = product of those after it.
public sealed partial class Tensor
{
    /// <summary>Sum of all elements, as a scalar: ∂/∂x = g everywhere.</summary>
    public Tensor Sum()
    {
        var r = ScalarResult(TensorPrimitives.Sum(data));
        r.Record("sum", SumAllBackward, this);
        return r;
    }

    private static readonly GradNode.StaticBackward SumAllBackward = static (node, g) =>
        node.Inputs[0].AccumulateOwnedGrad(node.Inputs[0].FilledLike(g.data[0]));

    /// <summary>Mean of all elements, as a scalar: ∂/∂x = g / size.</summary>
    public Tensor Mean()
    {
        if (Size == 0) throw new InvalidOperationException("Mean() of an empty tensor is undefined.");
        var r = ScalarResult(TensorPrimitives.Sum(data) / Size);
        r.Record("mean", MeanAllBackward, this);
        return r;
    }

    private static readonly GradNode.StaticBackward MeanAllBackward = static (node, g) =>
        node.Inputs[0].AccumulateOwnedGrad(node.Inputs[0].FilledLike(g.data[0] / node.Inputs[0].Size));

    /// <summary>Sum along <paramref name="axis"/>; the axis is removed unless <paramref name="keepDim"/>.</summary>
    public Tensor Sum(int axis, bool keepDim = false)
    {
        var (outer, n, inner, ax) = AxisView(axis, "Sum");
        var r = Empty(ReducedDims(ax, keepDim));
        for (int o = 0; o < outer; o++)
        {
            var dst = r.data.AsSpan(o * inner, inner);
            for (int j = 0; j < n; j++) TensorPrimitives.Add(dst, data.AsSpan((o * n + j) * inner, inner), dst);
        }
        if (r.Record("sum", AxisSumBackward, this) is { } node) (node.I0, node.I1, node.I2, node.F0) = (outer, n, inner, 1f);
        return r;
    }

    // ∂x = g repeated n times along the reduced axis of the [outer, n, inner] view, times F0 (1, or 1/n for a mean).
    private static readonly GradNode.StaticBackward AxisSumBackward = static (node, g) =>
        node.Inputs[0].AccumulateOwnedGrad(node.Inputs[0].ExpandAlong(g, node.I0, node.I1, node.I2, node.F0));

    /// <summary>Mean along <paramref name="axis"/>; the axis is removed unless <paramref name="keepDim"/>.</summary>
    public Tensor Mean(int axis, bool keepDim = false)
    {
        var (outer, n, inner, ax) = AxisView(axis, "Mean");
        Tensor r;
        using (GradMode.NoGrad()) r = Sum(axis, keepDim);
        TensorPrimitives.Divide(r.data, n, r.data);
        if (r.Record("mean", AxisSumBackward, this) is { } node) (node.I0, node.I1, node.I2, node.F0) = (outer, n, inner, 1f / n);
        return r;
    }

    /// <summary>
    /// Maximum along <paramref name="axis"/>. The gradient is routed to the first position holding the maximum
    /// (like torch.max(dim)); every other position gets 0.
    /// </summary>
    public Tensor Max(int axis, bool keepDim = false)
    {
        var (outer, n, inner, ax) = AxisView(axis, "Max");
        if (n == 0) throw new InvalidOperationException($"Max: axis {axis} of shape {Shapes.Format(dims)} is empty.");
        var r = Empty(ReducedDims(ax, keepDim));
        var where = ArgMaxIndices(outer, n, inner);
        for (int i = 0; i < where.Length; i++) r.data[i] = data[where[i]];
        return r.Record("max", [this], g =>
        {
            var dx = Empty(dims);
            for (int i = 0; i < where.Length; i++) dx.data[where[i]] = g.data[i];
            AccumulateOwnedGrad(dx);
        });
    }

    /// <summary>Maximum of all elements, as a scalar; the gradient goes to the first maximal element.</summary>
    public Tensor Max() => Reshape(Size).Max(0);

    /// <summary>
    /// Index of the maximum along <paramref name="axis"/> (first on ties), as float values in a tensor without that
    /// axis. Not differentiable.
    /// </summary>
    public Tensor ArgMax(int axis = -1)
    {
        var (outer, n, inner, ax) = AxisView(axis, "ArgMax");
        if (n == 0) throw new InvalidOperationException($"ArgMax: axis {axis} of shape {Shapes.Format(dims)} is empty.");
        var r = Empty(ReducedDims(ax, keepDim: false));
        var where = ArgMaxIndices(outer, n, inner);
        for (int i = 0; i < where.Length; i++) r.data[i] = (where[i] / inner) % n;
        return r;
    }

    /// <summary>Flat offsets of the (first) maximum of every [o, :, i] line.</summary>
    private int[] ArgMaxIndices(int outer, int n, int inner)
    {
        var where = new int[outer * inner];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int start = o * n * inner + i;
                where[o * inner + i] = start + FirstMaxIndex(data, start, n, inner) * inner;
            }
        return where;
    }

    /// <summary>
    /// Which j in 0 … n−1 holds the maximum of data[start + j·stride]: the first on ties, and a NaN counts as the
    /// maximum (torch.argmax's rule; classifying a row of outputs uses it too).
    /// </summary>
    internal static int FirstMaxIndex(float[] data, int start, int n, int stride)
    {
        int best = 0;
        for (int j = 1; j < n; j++)
        {
            float v = data[start + j * stride], m = data[start + best * stride];
            if (v > m || (float.IsNaN(v) && !float.IsNaN(m))) best = j;
        }
        return best;
    }

    internal (int Outer, int N, int Inner, int Axis) AxisView(int axis, string op)
    {
        int ax = Shapes.NormalizeAxis(axis, dims.Length, op);
        int outer = 1, inner = 1;
        for (int i = 0; i < ax; i++) outer *= dims[i];
        for (int i = ax + 1; i < dims.Length; i++) inner *= dims[i];
        return (outer, dims[ax], inner, ax);
    }

    private int[] ReducedDims(int ax, bool keepDim)
    {
        Span<int> shape = stackalloc int[dims.Length];
        dims.CopyTo(shape);
        if (keepDim)
        {
            shape[ax] = 1;
            return Shapes.Interned(shape);
        }
        shape[(ax + 1)..].CopyTo(shape[ax..]);
        return Shapes.Interned(shape[..^1]);
    }

    /// <summary>A new gradient of this tensor's shape with every element <paramref name="value"/>: the backward of a full reduction.</summary>
    private Tensor FilledLike(float value)
    {
        var dx = Uninitialized(dims);
        dx.data.AsSpan().Fill(value);
        return dx;
    }

    /// <summary>Repeats g ([outer, inner]) n times along the reduced axis, scaled: the backward of sum and mean.</summary>
    private Tensor ExpandAlong(Tensor g, int outer, int n, int inner, float scale)
    {
        var dx = Uninitialized(dims);
        for (int o = 0; o < outer; o++)
        {
            var src = g.data.AsSpan(o * inner, inner);
            for (int j = 0; j < n; j++) TensorPrimitives.Multiply(src, scale, dx.data.AsSpan((o * n + j) * inner, inner));
        }
        return dx;
    }
}
