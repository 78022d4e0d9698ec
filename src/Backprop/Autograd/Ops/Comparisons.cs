namespace Backprop;

// Element-wise comparisons (broadcasting, as PyTorch) give a Mask; Where and MaskedFill choose by one. Comparisons are
// not differentiable; Where passes the gradient to whichever input each element came from.
public sealed partial class Tensor
{
    /// <summary>x == y element-wise (broadcasting).</summary>
    public Mask Eq(Tensor other) => Compare(other, "Eq", static (a, b) => a == b);

    /// <summary>x ≠ y element-wise (broadcasting); true where either is NaN.</summary>
    public Mask Ne(Tensor other) => Compare(other, "Ne", static (a, b) => a != b);

    /// <summary>x &lt; y element-wise (broadcasting).</summary>
    public Mask Lt(Tensor other) => Compare(other, "Lt", static (a, b) => a < b);

    /// <summary>x ≤ y element-wise (broadcasting).</summary>
    public Mask Le(Tensor other) => Compare(other, "Le", static (a, b) => a <= b);

    /// <summary>x &gt; y element-wise (broadcasting).</summary>
    public Mask Gt(Tensor other) => Compare(other, "Gt", static (a, b) => a > b);

    /// <summary>x ≥ y element-wise (broadcasting).</summary>
    public Mask Ge(Tensor other) => Compare(other, "Ge", static (a, b) => a >= b);

    /// <summary>x == value element-wise.</summary>
    public Mask Eq(float value) => Eq(Scalar(value));

    /// <summary>x ≠ value element-wise.</summary>
    public Mask Ne(float value) => Ne(Scalar(value));

    /// <summary>x &lt; value element-wise.</summary>
    public Mask Lt(float value) => Lt(Scalar(value));

    /// <summary>x ≤ value element-wise.</summary>
    public Mask Le(float value) => Le(Scalar(value));

    /// <summary>x &gt; value element-wise.</summary>
    public Mask Gt(float value) => Gt(Scalar(value));

    /// <summary>x ≥ value element-wise.</summary>
    public Mask Ge(float value) => Ge(Scalar(value));

    /// <summary>Where each element is NaN.</summary>
    public Mask IsNaN() => new((int[])dims.Clone(), [.. data.Select(float.IsNaN)]);

    /// <summary>Where each element is finite (not NaN or ±∞).</summary>
    public Mask IsFinite() => new((int[])dims.Clone(), [.. data.Select(float.IsFinite)]);

    /// <summary>
    /// <paramref name="whenTrue"/> where <paramref name="condition"/> holds, else <paramref name="whenFalse"/>, all three
    /// broadcast to one shape (PyTorch's <c>torch.where</c>). Each input's gradient is the result's gradient where it
    /// was chosen, summed back over any broadcast dimension.
    /// </summary>
    public static Tensor Where(Mask condition, Tensor whenTrue, Tensor whenFalse)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(whenTrue);
        ArgumentNullException.ThrowIfNull(whenFalse);
        var outDims = Shapes.Broadcast(Shapes.Broadcast(condition.dims, whenTrue.dims, "Where"), whenFalse.dims, "Where");
        var chosen = BroadcastMask(condition, outDims);
        var a = Shapes.Equal(whenTrue.dims, outDims) ? whenTrue : whenTrue.Expand(outDims);
        var b = Shapes.Equal(whenFalse.dims, outDims) ? whenFalse : whenFalse.Expand(outDims);
        var r = Uninitialized(outDims);
        for (int i = 0; i < r.data.Length; i++) r.data[i] = chosen[i] ? a.data[i] : b.data[i];
        return r.Record("where", [a, b], g =>
        {
            if (a.RequiresGrad) a.AccumulateOwnedGrad(Select(g, chosen, true));
            if (b.RequiresGrad) b.AccumulateOwnedGrad(Select(g, chosen, false));
        });

        static Tensor Select(Tensor g, bool[] chosen, bool side)
        {
            var d = Uninitialized(g.dims);
            for (int i = 0; i < d.data.Length; i++) d.data[i] = chosen[i] == side ? g.data[i] : 0f;
            return d;
        }
    }

    /// <summary>This tensor with <paramref name="value"/> wherever <paramref name="mask"/> (broadcast) holds; the gradient is 0 there.</summary>
    public Tensor MaskedFill(Mask mask, float value)
    {
        ArgumentNullException.ThrowIfNull(mask);
        var outDims = Shapes.Broadcast(mask.dims, dims, "MaskedFill");
        if (!Shapes.Equal(outDims, dims))
            throw new ShapeMismatchException($"MaskedFill: a mask of shape {Shapes.Format(mask.dims)} would broadcast {Shapes.Format(dims)} to {Shapes.Format(outDims)}; the mask must broadcast to the tensor's shape.");
        return Where(mask, Scalar(value), this);
    }

    private Mask Compare(Tensor other, string op, Func<float, float, bool> test)
    {
        ArgumentNullException.ThrowIfNull(other);
        var outDims = Shapes.Equal(dims, other.dims) ? (int[])dims.Clone() : Shapes.Broadcast(dims, other.dims, op);
        Tensor a, b;
        using (GradMode.NoGrad())
        {
            a = Shapes.Equal(dims, outDims) ? this : Expand(outDims);
            b = Shapes.Equal(other.dims, outDims) ? other : other.Expand(outDims);
        }
        var r = new bool[a.data.Length];
        for (int i = 0; i < r.Length; i++) r[i] = test(a.data[i], b.data[i]);
        return new Mask(outDims, r);
    }

    // The mask's values broadcast to outDims, row-major.
    private static bool[] BroadcastMask(Mask mask, int[] outDims)
    {
        if (Shapes.Equal(mask.dims, outDims)) return mask.data;
        Tensor expanded;
        using (GradMode.NoGrad()) expanded = mask.ToFloat().Expand(outDims);
        return [.. expanded.data.Select(v => v != 0f)];
    }
}
