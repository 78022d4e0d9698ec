namespace Backprop.Kernels;

/// <summary>
/// Drives elementwise binary kernels over broadcast shapes, and sums a broadcast gradient back to its source shape.
/// </summary>
internal static class Broadcast
{
    /// <summary>
    /// d = x ∘ y where x has shape <paramref name="xs"/>, y has <paramref name="ys"/>, and d has the broadcast shape
    /// <paramref name="ds"/>. Same shapes and scalars take whole-span SIMD paths; otherwise the last dimension is
    /// processed as a row (SIMD within the row) and the outer dimensions by strides.
    /// </summary>
    public static void Binary<TOp>(ReadOnlySpan<float> x, int[] xs, ReadOnlySpan<float> y, int[] ys, Span<float> d, int[] ds)
        where TOp : IBinaryKernel
    {
        if (d.Length == 0) return;
        if (x.Length == d.Length && y.Length == d.Length) { TOp.Apply(x, y, d); return; }
        if (y.Length == 1 && x.Length == d.Length) { TOp.Apply(x, y[0], d); return; }
        if (x.Length == 1 && y.Length == d.Length) { TOp.Apply(x[0], y, d); return; }

        int rank = ds.Length;
        Span<int> xStr = stackalloc int[rank], yStr = stackalloc int[rank];
        Shapes.BroadcastStrides(xs, ds, xStr);
        Shapes.BroadcastStrides(ys, ds, yStr);
        int row = ds[rank - 1];
        int rows = d.Length / row;
        int xInner = xStr[rank - 1], yInner = yStr[rank - 1];
        for (int r = 0; r < rows; r++)
        {
            // Offsets of this row in x and y from the outer index (all dimensions but the last).
            int xo = 0, yo = 0, rem = r;
            for (int a = rank - 2; a >= 0; a--)
            {
                int i = rem % ds[a];
                rem /= ds[a];
                xo += i * xStr[a];
                yo += i * yStr[a];
            }
            var dr = d.Slice(r * row, row);
            if (xInner != 0 && yInner != 0) TOp.Apply(x.Slice(xo, row), y.Slice(yo, row), dr);
            else if (xInner != 0) TOp.Apply(x.Slice(xo, row), y[yo], dr);
            else if (yInner != 0) TOp.Apply(x[xo], y.Slice(yo, row), dr);
            else dr.Fill(TOp.Apply(x[xo], y[yo]));
        }
    }

    /// <summary>
    /// The gradient of a broadcast: sums <paramref name="g"/> (shape <paramref name="gs"/>) over the dimensions that
    /// broadcasting expanded, into <paramref name="result"/> (shape <paramref name="target"/>, zeroed by the caller).
    /// </summary>
    public static void SumTo(float[] g, int[] gs, int[] target, Span<float> result)
    {
        int size = Shapes.Size(target);
        if (size == g.Length) { g.AsSpan(0, size).CopyTo(result); return; }
        if (size == 1) { result[0] = System.Numerics.Tensors.TensorPrimitives.Sum(g); return; }

        int rank = gs.Length;
        Span<int> tStr = stackalloc int[rank];
        Shapes.BroadcastStrides(target, gs, tStr);
        int row = gs[rank - 1];
        int rows = g.Length / row;
        bool rowKept = tStr[rank - 1] != 0;
        for (int r = 0; r < rows; r++)
        {
            int to = 0, rem = r;
            for (int a = rank - 2; a >= 0; a--)
            {
                int i = rem % gs[a];
                rem /= gs[a];
                to += i * tStr[a];
            }
            var gr = g.AsSpan(r * row, row);
            if (rowKept)
            {
                var tr = result.Slice(to, row);
                System.Numerics.Tensors.TensorPrimitives.Add(tr, gr, tr);
            }
            else result[to] += System.Numerics.Tensors.TensorPrimitives.Sum(gr);
        }
    }
}
