namespace Backprop.Reporting;

/// <summary>
/// Draws flattened examples as PNG images: a sample shape [H, W] or [1, H, W] is grayscale, [3, H, W] is RGB
/// (channels first, as convolution layers read them). Values map linearly from the data's own [min, max] to 0..255,
/// one mapping for all images so that brightness compares across them.
/// </summary>
internal sealed class SampleImages
{
    private const int TargetSize = 84;  // on-screen pixels of the longer side (28×28 → 3× = 84)
    private readonly float[] features;
    private readonly int channels, height, width;
    private readonly float min, scale;

    /// <summary>True for the shapes this class can draw: [H, W], [1, H, W] or [3, H, W].</summary>
    public static bool CanDraw(IReadOnlyList<int> shape) => shape.Count == 2 || (shape.Count == 3 && shape[0] is 1 or 3);

    /// <summary>Images of the rows of <paramref name="features"/> [N, F], each of shape <paramref name="shape"/>.</summary>
    public SampleImages(float[] features, IReadOnlyList<int> shape)
    {
        if (!CanDraw(shape))
            throw new ArgumentException($"SampleImages: expected a sample shape [H, W], [1, H, W] or [3, H, W] but got [{string.Join(", ", shape)}].");
        (channels, height, width) = shape.Count == 2 ? (1, shape[0], shape[1]) : (shape[0], shape[1], shape[2]);
        this.features = features;
        float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
        foreach (var v in features)
            if (float.IsFinite(v)) (lo, hi) = (MathF.Min(lo, v), MathF.Max(hi, v));
        if (lo > hi) (lo, hi) = (0, 1);
        min = lo;
        scale = hi > lo ? 255f / (hi - lo) : 0f;
    }

    /// <summary>Width in CSS pixels: an integer multiple of the image's, so pixels stay square and sharp.</summary>
    public int DisplayWidth => width * Zoom;

    /// <summary>Height in CSS pixels.</summary>
    public int DisplayHeight => height * Zoom;

    private int Zoom => Math.Max(1, TargetSize / Math.Max(height, width));

    /// <summary>
    /// The bytes of example <paramref name="row"/>, interleaved [H, W, C] as PNG wants them (the row holds [C, H, W]).
    /// Non-finite values are drawn black.
    /// </summary>
    public byte[] Pixels(int row)
    {
        int plane = height * width;
        var source = features.AsSpan(row * channels * plane, channels * plane);
        var pixels = new byte[channels * plane];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < plane; i++)
            {
                float v = source[c * plane + i];
                pixels[i * channels + c] = float.IsFinite(v) ? (byte)Math.Clamp(MathF.Round((v - min) * scale), 0, 255) : (byte)0;
            }
        return pixels;
    }

    /// <summary>Example <paramref name="row"/> as a data: URI of a PNG.</summary>
    public string DataUri(int row) => PngImage.DataUri(PngImage.Encode(Pixels(row), width, height, channels));
}
