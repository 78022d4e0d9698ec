namespace Backprop;

/// <summary>
/// An n-dimensional array of booleans (row-major): the result of an element-wise comparison
/// (<see cref="Tensor.Eq(Tensor)"/>, <see cref="Tensor.Lt(Tensor)"/>, ...), taken by <see cref="Tensor.Where"/> and
/// <see cref="Tensor.MaskedFill"/>. PyTorch's bool tensor. Comparisons are named methods: <c>a == b</c> on two
/// tensors compares references, as for any .NET object.
/// </summary>
public sealed class Mask
{
    internal readonly bool[] data;
    internal readonly int[] dims;

    internal Mask(int[] dims, bool[] data)
    {
        this.dims = dims;
        this.data = data;
    }

    /// <summary>A mask holding <paramref name="values"/> (copied) with <paramref name="shape"/> (default: 1-D).</summary>
    public static Mask FromArray(bool[] values, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(values);
        var dims = shape is null || shape.Length == 0 ? [values.Length] : (int[])shape.Clone();
        Shapes.Validate(dims);
        if (Shapes.Size(dims) != values.Length)
            throw new ShapeMismatchException($"Mask.FromArray: {values.Length} values do not fill shape {Shapes.Format(dims)} ({Shapes.Size(dims)} elements).");
        return new Mask(dims, (bool[])values.Clone());
    }

    /// <summary>The size of each dimension, outermost first.</summary>
    public IReadOnlyList<int> Shape => dims;

    /// <summary>Total number of elements.</summary>
    public int Size => data.Length;

    /// <summary>One element by its full index.</summary>
    public bool this[params int[] index] => data[Shapes.Offset(dims, index)];

    /// <summary>How many elements are true.</summary>
    public int Count() => data.Count(b => b);

    /// <summary>Whether any element is true.</summary>
    public bool Any() => data.Contains(true);

    /// <summary>Whether every element is true.</summary>
    public bool All() => !data.Contains(false);

    /// <summary>Element-wise not.</summary>
    public Mask Not() => new((int[])dims.Clone(), [.. data.Select(b => !b)]);

    /// <summary>Element-wise and (same shape).</summary>
    public Mask And(Mask other) => Combine(other, "And", static (a, b) => a && b);

    /// <summary>Element-wise or (same shape).</summary>
    public Mask Or(Mask other) => Combine(other, "Or", static (a, b) => a || b);

    /// <summary>1 where true, 0 where false, as a float32 <see cref="Tensor"/> (e.g. to average a correctness mask).</summary>
    public Tensor ToFloat() => new((int[])dims.Clone(), [.. data.Select(b => b ? 1f : 0f)]);

    /// <summary>A copy of the elements in row-major order.</summary>
    public bool[] ToArray() => (bool[])data.Clone();

    private Mask Combine(Mask other, string op, Func<bool, bool, bool> f)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (!Shapes.Equal(dims, other.dims))
            throw new ShapeMismatchException($"Mask.{op}: shapes {Shapes.Format(dims)} and {Shapes.Format(other.dims)} differ.");
        var r = new bool[data.Length];
        for (int i = 0; i < r.Length; i++) r[i] = f(data[i], other.data[i]);
        return new Mask((int[])dims.Clone(), r);
    }

    /// <inheritdoc/>
    public override string ToString() => $"Mask{Shapes.Format(dims)} [{string.Join(", ", data.Take(20).Select(b => b ? "true" : "false"))}{(data.Length > 20 ? ", ..." : "")}]";
}
