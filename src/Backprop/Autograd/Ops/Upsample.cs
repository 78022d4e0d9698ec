namespace Backprop;

/// <summary>How <see cref="Tensor.Upsample2d(int, UpsampleMode)"/> fills the new pixels.</summary>
public enum UpsampleMode
{
    /// <summary>Each output pixel copies the input pixel it falls in (PyTorch's <c>mode="nearest"</c>).</summary>
    Nearest,
    /// <summary>Each output pixel mixes the 2×2 input pixels around its centre, weighted by distance (PyTorch's
    /// <c>mode="bilinear", align_corners=False</c>).</summary>
    Bilinear,
}

// Upsampling of images [N, C, H, W] by a whole scale factor. Both modes are one linear map per axis: output index o
// reads input rows i0[o] and i1[o] with weights w0[o] and w1[o] (nearest: one row, weight 1), and the 2-D map is the
// product of the row map and the column map. Backward is the adjoint: each output gradient goes back to the (up to
// four) input pixels it read, with the same weights. Nearest takes a plain copy path (no 0·x terms, so ±∞ stay).
public sealed partial class Tensor
{
    /// <summary>
    /// Upsamples [N, C, H, W] to [N, C, H·scale, W·scale] (PyTorch's <c>F.interpolate(x, scale_factor=scale, mode=...)</c>).
    /// Nearest: y[i, j] = x[⌊i/s⌋, ⌊j/s⌋]. Bilinear (align_corners = false): output pixel i sits at input coordinate
    /// u = max(0, (i + ½)/s − ½) and mixes rows ⌊u⌋ and ⌊u⌋ + 1 (clamped to the last row) with weights 1 − (u − ⌊u⌋)
    /// and u − ⌊u⌋; likewise for columns.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The input is not [N, C, H, W].</exception>
    public Tensor Upsample2d(int scale, UpsampleMode mode = UpsampleMode.Nearest)
    {
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, $"upsample: the scale factor must be a whole number ≥ 1 but got {scale}.");
        if (mode is not (UpsampleMode.Nearest or UpsampleMode.Bilinear))
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "upsample: the mode must be nearest or bilinear.");
        if (Rank != 4) throw new ShapeMismatchException($"upsample: expected input [N, C, H, W] but got {Shapes.Format(dims)}.");
        var x = this;
        int planes = x.dims[0] * x.dims[1], h = x.dims[2], w = x.dims[3], oh = h * scale, ow = w * scale;
        var rows = AxisMap.Of(h, scale, mode);
        var cols = AxisMap.Of(w, scale, mode);
        var y = Uninitialized(Shapes.Interned([x.dims[0], x.dims[1], oh, ow]));
        for (int p = 0; p < planes; p++)
        {
            var src = x.data.AsSpan(p * h * w, h * w);
            var dst = y.data.AsSpan(p * oh * ow, oh * ow);
            for (int i = 0; i < oh; i++)
            {
                var r0 = src.Slice(rows.I0[i] * w, w);
                var r1 = src.Slice(rows.I1[i] * w, w);
                float a0 = rows.W0[i], a1 = rows.W1[i];
                if (mode == UpsampleMode.Nearest)
                {
                    for (int j = 0; j < ow; j++) dst[i * ow + j] = r0[cols.I0[j]];
                    continue;
                }
                for (int j = 0; j < ow; j++)
                {
                    int c0 = cols.I0[j], c1 = cols.I1[j];
                    float b0 = cols.W0[j], b1 = cols.W1[j];
                    dst[i * ow + j] = a0 * (b0 * r0[c0] + b1 * r0[c1]) + a1 * (b0 * r1[c0] + b1 * r1[c1]);
                }
            }
        }
        if (y.Record(mode == UpsampleMode.Nearest ? "upsample_nearest2d" : "upsample_bilinear2d", UpsampleBackward, x) is { } node)
            (node.I0, node.I1, node.State) = (scale, (int)mode, rows);
        return y;
    }

    // Each output pixel's gradient back to the input pixels it was read from, with the same weights; the scale and
    // mode in I0, I1, the rows' map in State (the columns' is found again: maps are kept per size).
    private static readonly GradNode.StaticBackward UpsampleBackward = static (node, dy) =>
    {
        var x = node.Inputs[0];
        int scale = node.I0;
        var mode = (UpsampleMode)node.I1;
        int planes = x.dims[0] * x.dims[1], h = x.dims[2], w = x.dims[3], oh = h * scale, ow = w * scale;
        var rows = (AxisMap)node.State!;
        var cols = AxisMap.Of(w, scale, mode);
        var dx = Empty(x.dims);
        for (int p = 0; p < planes; p++)
        {
            var g = dy.data.AsSpan(p * oh * ow, oh * ow);
            var d = dx.data.AsSpan(p * h * w, h * w);
            for (int i = 0; i < oh; i++)
            {
                var d0 = d.Slice(rows.I0[i] * w, w);
                var d1 = d.Slice(rows.I1[i] * w, w);
                float a0 = rows.W0[i], a1 = rows.W1[i];
                if (mode == UpsampleMode.Nearest)
                {
                    for (int j = 0; j < ow; j++) d0[cols.I0[j]] += g[i * ow + j];
                    continue;
                }
                for (int j = 0; j < ow; j++)
                {
                    float gij = g[i * ow + j];
                    int c0 = cols.I0[j], c1 = cols.I1[j];
                    float b0 = cols.W0[j], b1 = cols.W1[j];
                    d0[c0] += a0 * b0 * gij;
                    d0[c1] += a0 * b1 * gij;
                    d1[c0] += a1 * b0 * gij;
                    d1[c1] += a1 * b1 * gij;
                }
            }
        }
        x.AccumulateOwnedGrad(dx);
    };

    /// <summary>One axis of an upsampling: output index o reads input indices I0[o], I1[o] with weights W0[o], W1[o].</summary>
    /// <remarks>Maps depend only on (size, scale, mode) and are never written after they are made, so they are made once
    /// and shared by every call and thread (a decoder's upsampling then allocates no tables per step).</remarks>
    private sealed record AxisMap(int[] I0, int[] I1, float[] W0, float[] W1)
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<(int Size, int Scale, UpsampleMode Mode), AxisMap> Made = new();

        public static AxisMap Of(int size, int scale, UpsampleMode mode) =>
            Made.TryGetValue((size, scale, mode), out var map) ? map
            : (long)size * scale <= 1 << 16 ? Made.GetOrAdd((size, scale, mode), static key => Make(key.Size, key.Scale, key.Mode))
            : Make(size, scale, mode);   // an unusually large axis is not kept

        private static AxisMap Make(int size, int scale, UpsampleMode mode)
        {
            int n = size * scale;
            var map = new AxisMap(new int[n], new int[n], new float[n], new float[n]);
            for (int o = 0; o < n; o++)
            {
                if (mode == UpsampleMode.Nearest)
                {
                    map.I0[o] = map.I1[o] = o / scale;
                    map.W0[o] = 1f;
                    continue;
                }
                // PyTorch's area_pixel_compute_source_index with align_corners = false, in float as its CPU kernel.
                float u = Math.Max(0f, (o + 0.5f) / scale - 0.5f);
                int i0 = (int)u;
                map.I0[o] = i0;
                map.I1[o] = Math.Min(i0 + 1, size - 1);
                map.W1[o] = u - i0;
                map.W0[o] = 1f - map.W1[o];
            }
            return map;
        }
    }
}
