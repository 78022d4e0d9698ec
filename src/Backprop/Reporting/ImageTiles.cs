namespace Backprop.Reporting;

/// <summary>
/// Tiles images into one PNG: rows of [C, H, W] values in [0, 1] (pixels, or a decoder's probabilities), laid out
/// <c>columns</c> to a line with a gap between tiles. Unlike <see cref="SampleImages"/>, the grey levels are fixed
/// (0 → black, 1 → white, clamped), so an input and its reconstruction are drawn on the same scale.
/// </summary>
internal static class ImageTiles
{
    /// <summary>The grid as a PNG data: URI with its size in pixels.</summary>
    /// <param name="values">Images [N, C·H·W], row after row.</param>
    /// <param name="shape">One image's [C, H, W] ([1, H, W] gray, [3, H, W] RGB) or [H, W].</param>
    /// <param name="columns">Tiles per line.</param>
    /// <param name="gap">Pixels between tiles (drawn mid-grey).</param>
    public static (string DataUri, int Width, int Height) Grid(ReadOnlySpan<float> values, IReadOnlyList<int> shape, int columns, int gap = 2)
    {
        if (!SampleImages.CanDraw(shape))
            throw new ArgumentException($"ImageTiles: expected an image shape [H, W], [1, H, W] or [3, H, W] but got [{string.Join(", ", shape)}].");
        var (c, h, w) = shape.Count == 2 ? (1, shape[0], shape[1]) : (shape[0], shape[1], shape[2]);
        int size = c * h * w, count = values.Length / size;
        if (count < 1 || columns < 1 || values.Length % size != 0)
            throw new ArgumentException($"ImageTiles: expected whole images of {size} values and at least one column but got {values.Length} values and {columns} columns.");
        int lines = (count + columns - 1) / columns;
        int width = columns * w + (columns - 1) * gap, height = lines * h + (lines - 1) * gap;
        var pixels = new byte[width * height * c];
        pixels.AsSpan().Fill(128);
        for (int k = 0; k < count; k++)
        {
            int x0 = k % columns * (w + gap), y0 = k / columns * (h + gap);
            var image = values.Slice(k * size, size);
            for (int ch = 0; ch < c; ch++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                    {
                        float v = image[(ch * h + y) * w + x];
                        pixels[((y0 + y) * width + x0 + x) * c + ch] = float.IsFinite(v) ? (byte)MathF.Round(Math.Clamp(v, 0f, 1f) * 255f) : (byte)0;
                    }
        }
        return (PngImage.DataUri(PngImage.Encode(pixels, width, height, c)), width, height);
    }
}
