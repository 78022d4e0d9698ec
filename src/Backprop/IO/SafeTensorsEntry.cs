namespace Backprop.IO;

/// <summary>
/// One tensor of a safetensors file as stored: its name, element type, shape and raw little-endian bytes
/// (<see cref="SafeTensors.ReadEntries"/>). <see cref="ToTensor"/> converts it to Backprop's float32.
/// </summary>
public sealed class SafeTensorsEntry
{
    private readonly string path;

    internal SafeTensorsEntry(string path, string name, SafeTensorsDType dtype, int[] shape, ReadOnlyMemory<byte> bytes)
    {
        this.path = path;
        Name = name;
        DType = dtype;
        Shape = shape;
        Bytes = bytes;
    }

    /// <summary>The tensor's name in the file, e.g. <c>features.0.weight</c>.</summary>
    public string Name { get; }

    /// <summary>The element type the file stores.</summary>
    public SafeTensorsDType DType { get; }

    /// <summary>The shape ([] for a scalar such as PyTorch's <c>num_batches_tracked</c>).</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>The raw little-endian elements, <see cref="Shape"/>'s product times the element size in bytes.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>
    /// The values as a float32 tensor: F32, F16 and BF16 exactly, F64 rounded to the nearest float32, integers and
    /// BOOL (0, 1) exactly. An integer float32 cannot hold (above 2²⁴ in magnitude and off its grid) is refused
    /// unless <paramref name="roundIntegers"/>, when it becomes the nearest float32 (right for a counter such as
    /// <c>num_batches_tracked</c>, wrong for a token id).
    /// </summary>
    /// <exception cref="ModelFormatException">A value float32 cannot hold; the message names the file, the tensor,
    /// the index and the value.</exception>
    public Tensor ToTensor(bool roundIntegers = false)
    {
        var dims = Shape.ToArray();
        var t = dims.Length == 0 ? Tensor.Scalar(0f) : Tensor.Zeros(dims);
        if (SafeTensorsDTypes.Decode(DType, Bytes.Span, t.AsSpan(), roundIntegers) is var (index, value))
        {
            string why = DType switch
            {
                SafeTensorsDType.F64 => "beyond float32's range (±3.4e38)",
                SafeTensorsDType.Bool => "not 0 or 1",
                _ => "a whole number float32 cannot hold exactly (it holds every whole number up to 2^24 = 16777216)",
            };
            throw new ModelFormatException(path, $"tensor '{Name}' ({SafeTensorsDTypes.Name(DType)} {Shapes.Format(dims)}) holds {value} at index {index}, {why}; Backprop computes in float32.");
        }
        return t;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {SafeTensorsDTypes.Name(DType)} {Shapes.Format([.. Shape])}";
}
