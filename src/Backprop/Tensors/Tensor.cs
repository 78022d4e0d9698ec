namespace Backprop;

/// <summary>
/// An n-dimensional array of float32 values, stored contiguously in row-major order, that can record the
/// operations applied to it so that <see cref="Backward()"/> can compute gradients (reverse-mode autodiff).
/// </summary>
/// <remarks>
/// A scalar is a tensor of rank 0 (shape <c>[]</c>, one element): the same engine serves the seeds' circuits of
/// gates and their matrices. Tensors never need disposing: storage is ordinary managed memory, or, for what ops create
/// inside a training step of <c>Fit</c>, a buffer the library rents and takes back itself (<see cref="TensorArena"/>).
/// Forward and backward of every op live side by side in the <c>Autograd/Ops</c> folder.
/// </remarks>
public sealed partial class Tensor
{
    // Storage is always contiguous and row-major; views (Reshape) may share it with another tensor.
    // Both are replaced only when the step pool hands a recycled tensor object out again (Reuse).
    internal float[] data;
    internal int[] dims;

    // Index of the storage in the open TensorArena scope that rented it, or −1 for ordinary memory (and for views,
    // which never own what they share).
    internal int lease = -1;

    internal Tensor(int[] dims, float[] data)
    {
        this.dims = dims;
        this.data = data;
    }

    // Whether this object belongs to a TensorArena step: it is recycled when that step closes.
    internal bool pooled;

    // A recycled step tensor made new: shape, storage and nothing else (Recycle cleared the rest).
    internal Tensor Reuse(int[] dims, float[] data)
    {
        this.dims = dims;
        this.data = data;
        return this;
    }

    // Lets go of everything when the step that made this tensor closes, before the object is handed out again.
    internal void Recycle()
    {
        (dims, data, lease, Name) = ([], [], -1, null);
        (requiresGrad, Grad, RetainsGrad, recycledGrad, Node) = (false, null, false, null, null);
        (version, viewOf, gradHooks) = (0, null, null);
    }

    /// <summary>The size of each dimension, outermost first. A scalar has an empty shape.</summary>
    public IReadOnlyList<int> Shape => dims;

    /// <summary>Number of dimensions (0 for a scalar).</summary>
    public int Rank => dims.Length;

    /// <summary>Total number of elements.</summary>
    public int Size => data.Length;

    /// <summary>An optional name, shown by graph exports and step traces.</summary>
    public string? Name { get; set; }

    /// <summary>
    /// The elements in row-major order: the raw storage, like PyTorch's <c>.data</c>. Writing through this span
    /// changes the tensor without counting a <see cref="Version"/>, so no check protects a graph that saved it;
    /// write through the indexer (or before the forward pass) when a recorded op may still need the old values.
    /// </summary>
    public Span<float> AsSpan() => data.AsSpan();

    /// <summary>A copy of the elements in row-major order.</summary>
    public float[] ToArray() => (float[])data.Clone();

    /// <summary>The value of a one-element tensor.</summary>
    public float Item()
    {
        if (data.Length != 1)
            throw new InvalidOperationException($"Item() needs a tensor with exactly one element but got shape {Shapes.Format(dims)}.");
        return data[0];
    }

    /// <summary>
    /// Reads or writes one element by its full index (one integer per dimension). A write counts as an in-place
    /// change (<see cref="Version"/>): a graph that saved this tensor refuses to backpropagate through the new value.
    /// </summary>
    [System.Runtime.CompilerServices.IndexerName("Element")]
    public float this[params int[] index]
    {
        get => data[Shapes.Offset(dims, index)];
        set
        {
            data[Shapes.Offset(dims, index)] = value;
            MarkWritten();
        }
    }

    /// <summary>The size of dimension <paramref name="axis"/>; negative axes count from the end.</summary>
    public int Dim(int axis) => dims[Shapes.NormalizeAxis(axis, dims.Length, "Dim")];

    /// <summary>Rows × columns view of a rank-2 tensor as a copy: <c>float[rows, cols]</c>.</summary>
    public float[,] ToMatrix()
    {
        if (dims.Length != 2)
            throw new InvalidOperationException($"ToMatrix() needs a rank-2 tensor but got shape {Shapes.Format(dims)}.");
        var m = new float[dims[0], dims[1]];
        Buffer.BlockCopy(data, 0, m, 0, data.Length * sizeof(float));
        return m;
    }

    /// <summary>A new tensor with the same shape and values that does not share storage or graph history.</summary>
    public Tensor Clone() => new((int[])dims.Clone(), (float[])data.Clone()) { Name = Name };

    /// <inheritdoc/>
    public override string ToString() => TensorFormatter.Format(this, decimals: 4);

    /// <summary>Formats the values with the given number of decimals, numpy style (<c>[[0.81 0.81] ...]</c>).</summary>
    public string ToString(int decimals) => TensorFormatter.Format(this, decimals);
}
