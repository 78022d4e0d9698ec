namespace Backprop.Kernels;

/// <summary>
/// The sizes of one 2-D convolution or pooling over a batch: input [N, C, H, W], kernel KH×KW, stride and zero
/// padding (the same along both axes), output [N, ·, OH, OW] with OH = (H + 2·pad − KH) / stride + 1.
/// </summary>
internal readonly record struct ConvGeometry(int N, int C, int H, int W, int KH, int KW, int Stride, int Pad)
{
    /// <summary>Output height: ⌊(H + 2·pad − KH) / stride⌋ + 1.</summary>
    public int OH => (H + 2 * Pad - KH) / Stride + 1;

    /// <summary>Output width: ⌊(W + 2·pad − KW) / stride⌋ + 1.</summary>
    public int OW => (W + 2 * Pad - KW) / Stride + 1;

    /// <summary>Output pixels per image and channel: OH·OW.</summary>
    public int P => OH * OW;

    /// <summary>Kernel taps per output channel: C·KH·KW (the fan-in; the rows of an image's im2col matrix).</summary>
    public int K => C * KH * KW;

    /// <summary>Values per input image: C·H·W.</summary>
    public int ImageSize => C * H * W;
}
