using System.Globalization;

namespace Backprop;

/// <summary>
/// An n-dimensional array of 32-bit integers (row-major): indices and class labels, which <see cref="Tensor"/> (float32)
/// would hold only approximately beyond 2²⁴. Returned by <see cref="Tensor.Sort"/> and <see cref="Tensor.TopK"/>,
/// taken by <see cref="Tensor.Gather"/>, <see cref="Tensor.IndexSelect(int, IntTensor)"/> and
/// <see cref="Tensor.ScatterAdd"/>. Never differentiable.
/// </summary>
public sealed class IntTensor
{
    internal readonly int[] data;
    internal readonly int[] dims;

    internal IntTensor(int[] dims, int[] data)
    {
        this.dims = dims;
        this.data = data;
    }

    /// <summary>A tensor holding <paramref name="values"/> (copied) with <paramref name="shape"/> (default: 1-D).</summary>
    public static IntTensor FromArray(int[] values, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(values);
        var dims = shape is null || shape.Length == 0 ? [values.Length] : (int[])shape.Clone();
        Shapes.Validate(dims);
        if (Shapes.Size(dims) != values.Length)
            throw new ShapeMismatchException($"IntTensor.FromArray: {values.Length} values do not fill shape {Shapes.Format(dims)} ({Shapes.Size(dims)} elements).");
        return new IntTensor(dims, (int[])values.Clone());
    }

    /// <summary>
    /// The values of a float tensor that holds whole numbers (labels read from a file, <see cref="Tensor.ArgMax"/>),
    /// as integers; a value with a fraction, or beyond the int range, is refused with its position.
    /// </summary>
    public static IntTensor FromTensor(Tensor values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var ints = new int[values.Size];
        for (int i = 0; i < ints.Length; i++)
        {
            float v = values.data[i];
            if (v != MathF.Round(v) || v < int.MinValue || v >= 2147483648f)
                throw new ArgumentException($"IntTensor.FromTensor: element {i} is {v.ToString(CultureInfo.InvariantCulture)}, not a whole number in the int range.");
            ints[i] = (int)v;
        }
        return new IntTensor((int[])values.dims.Clone(), ints);
    }

    /// <summary>The size of each dimension, outermost first.</summary>
    public IReadOnlyList<int> Shape => dims;

    /// <summary>Number of dimensions.</summary>
    public int Rank => dims.Length;

    /// <summary>Total number of elements.</summary>
    public int Size => data.Length;

    /// <summary>One element by its full index.</summary>
    public int this[params int[] index] => data[Shapes.Offset(dims, index)];

    /// <summary>
    /// The rows (slices along axis 0) at <paramref name="indices"/>, in that order, as a new tensor: a batch of labels,
    /// as <see cref="Tensor.Rows"/> gathers one of features.
    /// </summary>
    /// <exception cref="IndexOutOfRangeException">An index is not a row.</exception>
    public IntTensor Rows(ReadOnlySpan<int> indices)
    {
        if (Rank == 0) throw new ShapeMismatchException("rows: a scalar has no rows.");
        int rowSize = Size / Math.Max(1, dims[0]);
        var newDims = (int[])dims.Clone();
        newDims[0] = indices.Length;
        var r = new int[indices.Length * rowSize];
        for (int i = 0; i < indices.Length; i++)
        {
            if ((uint)indices[i] >= (uint)dims[0])
                throw new IndexOutOfRangeException($"rows: index {indices[i]} is out of range for {dims[0]} rows (shape {Shapes.Format(dims)}).");
            Array.Copy(data, indices[i] * rowSize, r, i * rowSize, rowSize);
        }
        return new IntTensor(newDims, r);
    }

    /// <summary>A copy of the elements in row-major order.</summary>
    public int[] ToArray() => (int[])data.Clone();

    /// <summary>The same values as a float32 <see cref="Tensor"/> (exact up to 2²⁴).</summary>
    public Tensor ToFloat() => new((int[])dims.Clone(), [.. data.Select(v => (float)v)]);

    /// <inheritdoc/>
    public override string ToString() => $"IntTensor{Shapes.Format(dims)} [{string.Join(", ", data.Take(20))}{(data.Length > 20 ? ", ..." : "")}]";
}
