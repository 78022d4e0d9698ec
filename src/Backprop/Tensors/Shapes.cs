namespace Backprop;

/// <summary>Helpers for shapes: validation, formatting, broadcasting and strides.</summary>
internal static class Shapes
{
    public static int[] Validate(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (var d in shape)
            if (d < 0) throw new ShapeMismatchException($"shape {Format(shape)} has a negative dimension.");
        return shape;
    }

    public static int Size(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        if (n > Array.MaxLength) throw new ShapeMismatchException($"shape {Format(shape)} has {n} elements, more than an array can hold.");
        return (int)n;
    }

    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(",", shape.ToArray()) + "]";

    public static bool Equal(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);

    public static int NormalizeAxis(int axis, int rank, string op)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
            throw new ArgumentOutOfRangeException(nameof(axis), $"{op}: axis {axis} is out of range for a tensor of rank {rank}.");
        return a;
    }

    /// <summary>Row-major strides of a contiguous tensor.</summary>
    public static int[] Strides(ReadOnlySpan<int> shape)
    {
        var s = new int[shape.Length];
        int acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
        return s;
    }

    public static int Offset(int[] shape, int[] index)
    {
        if (index.Length != shape.Length)
            throw new ArgumentException($"index has {index.Length} components but the tensor has rank {shape.Length} (shape {Format(shape)})" +
                (index.Length < shape.Length ? "; for a slice (PyTorch's x[i]) use Select(0, i), or Narrow for a range." : "."));
        int off = 0;
        for (int i = 0; i < shape.Length; i++)
        {
            if ((uint)index[i] >= (uint)shape[i])
                throw new IndexOutOfRangeException($"index {Format(index)} is out of range for shape {Format(shape)}.");
            off = off * shape[i] + index[i];
        }
        return off;
    }

    /// <summary>
    /// NumPy broadcasting: shapes are aligned at the right; each pair of dimensions must be equal or one of them 1.
    /// </summary>
    public static int[] Broadcast(int[] a, int[] b, string op)
    {
        Span<int> r = stackalloc int[Math.Max(a.Length, b.Length)];
        BroadcastInto(a, b, op, r);
        return r.ToArray();
    }

    // The broadcast shape of a and b into r (of the larger rank); throws, naming the dimension, when they do not fit.
    private static void BroadcastInto(int[] a, int[] b, string op, Span<int> r)
    {
        int rank = r.Length;
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ShapeMismatchException(
                    $"{op}: shapes {Format(a)} and {Format(b)} cannot be broadcast together (dimension {i}: {da} vs {db}).");
            r[i] = da == 1 ? db : da;
        }
    }

    /// <summary>
    /// Strides for reading a tensor of shape <paramref name="shape"/> as if it had shape <paramref name="target"/>:
    /// broadcast dimensions get stride 0.
    /// </summary>
    public static int[] BroadcastStrides(int[] shape, int[] target)
    {
        var s = new int[target.Length];
        BroadcastStrides(shape, target, s);
        return s;
    }

    /// <summary><see cref="BroadcastStrides(int[], int[])"/> into <paramref name="strides"/> (length: the target's rank).</summary>
    public static void BroadcastStrides(ReadOnlySpan<int> shape, ReadOnlySpan<int> target, Span<int> strides)
    {
        int lead = target.Length - shape.Length, own = 1;
        for (int i = target.Length - 1; i >= 0; i--)
        {
            int d = i < lead ? 1 : shape[i - lead];
            strides[i] = d == 1 ? 0 : own;
            own *= d;
        }
    }

    /// <summary>
    /// The broadcast shape of <paramref name="a"/> and <paramref name="b"/> (see <see cref="Broadcast"/>) without a
    /// new array when it is one of them (a bias, a position table), interned otherwise.
    /// </summary>
    public static int[] BroadcastShared(int[] a, int[] b, string op)
    {
        Span<int> r = stackalloc int[Math.Max(a.Length, b.Length)];
        BroadcastInto(a, b, op, r);
        return r.SequenceEqual(a) ? a : r.SequenceEqual(b) ? b : Interned(r);
    }

    // Shapes that ops build (a linear's [*, out], a reshape's target), interned per thread so that a steady-state step
    // finds last step's arrays. A dims array is never written once a tensor holds it, so one array serves every tensor
    // of that shape; a full neighbourhood of the table lets the newest shape displace an older one (which then is
    // allocated again if it comes back).
    [ThreadStatic] private static int[]?[]? interned;
    private const int InternSlots = 256, InternProbes = 8;

    /// <summary>An array holding <paramref name="dims"/> that no one writes to (shared; do not modify it).</summary>
    public static int[] Interned(ReadOnlySpan<int> dims)
    {
        var table = interned ??= new int[]?[InternSlots];
        uint hash = 2166136261u ^ (uint)dims.Length;
        foreach (int d in dims) hash = (hash ^ (uint)d) * 16777619u;
        int start = (int)(hash % InternSlots);
        for (int probe = 0; probe < InternProbes; probe++)
        {
            ref var slot = ref table[(start + probe) % InternSlots];
            if (slot is null) return slot = dims.ToArray();
            if (slot.AsSpan().SequenceEqual(dims)) return slot;
        }
        return table[start] = dims.ToArray();
    }

    /// <summary><paramref name="dims"/> with its last axis replaced by <paramref name="last"/>, interned: [*, last].</summary>
    public static int[] WithLast(int[] dims, int last)
    {
        Span<int> shape = stackalloc int[dims.Length];
        dims.CopyTo(shape);
        shape[^1] = last;
        return Interned(shape);
    }

    /// <summary><paramref name="dims"/> followed by one more axis of <paramref name="last"/>, interned: [*, last].</summary>
    public static int[] Appended(ReadOnlySpan<int> dims, int last)
    {
        Span<int> shape = stackalloc int[dims.Length + 1];
        dims.CopyTo(shape);
        shape[^1] = last;
        return Interned(shape);
    }
}
