using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Backprop.Kernels;

/// <summary>
/// Average pooling over k×k windows moved by a stride s, without padding, on channels-last images [N, H, W, C] →
/// [N, (H − k)/s + 1, (W − k)/s + 1, C]: the compiled training step's twin of <see cref="Pool2dKernels.AvgForward"/> and
/// <see cref="Pool2dKernels.AvgBackward"/>. Each window is summed from 0 in row-major order and the sum multiplied by
/// 1/k², as they do, so the values are the same bit for bit; the inner loops run across a pixel's C contiguous
/// channels, one <see cref="Vector{T}"/> at a time with a scalar tail. Span in, span out; no allocation, no autograd.
/// </summary>
internal static class ChannelsLastAvgPool
{
    /// <summary>y[n, oh, ow, c] = (Σ over the window at (oh·s, ow·s) of x[n, ·, ·, c]) · 1/k².</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(Span<float> y, ReadOnlySpan<float> x, int n, int h, int w, int c, int k, int s)
    {
        int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
        Check(y.Length, x.Length, n, h, w, c, oh, ow);
        float scale = 1f / (k * k);
        var vscale = new Vector<float>(scale);
        int width = Vector<float>.Count;
        bool vector = Vector.IsHardwareAccelerated;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        for (int i = 0; i < n; i++)
            for (int r = 0; r < oh; r++)
                for (int q = 0; q < ow; q++)
                {
                    int o = ((i * oh + r) * ow + q) * c;
                    int corner = ((i * h + r * s) * w + q * s) * c;   // the window's top-left pixel
                    int j = 0;
                    if (vector)
                        for (; j + width <= c; j += width)
                        {
                            var sum = Vector<float>.Zero;
                            for (int kh = 0; kh < k; kh++)
                                for (int kw = 0; kw < k; kw++)
                                    sum += Vector.LoadUnsafe(ref xr, (nuint)(corner + (kh * w + kw) * c + j));
                            (sum * vscale).StoreUnsafe(ref yr, (nuint)(o + j));
                        }
                    for (; j < c; j++)
                    {
                        float sum = 0f;
                        for (int kh = 0; kh < k; kh++)
                            for (int kw = 0; kw < k; kw++) sum += x[corner + (kh * w + kw) * c + j];
                        y[o + j] = sum * scale;
                    }
                }
    }

    /// <summary>dx (overwritten) = Σ over the windows that hold each pixel of dy · 1/k², windows taken in row-major order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(Span<float> dx, ReadOnlySpan<float> dy, int n, int h, int w, int c, int k, int s)
    {
        int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
        Check(dy.Length, dx.Length, n, h, w, c, oh, ow);
        dx[..(n * h * w * c)].Clear();
        float scale = 1f / (k * k);
        var vscale = new Vector<float>(scale);
        int width = Vector<float>.Count;
        bool vector = Vector.IsHardwareAccelerated;
        ref float dxr = ref MemoryMarshal.GetReference(dx);
        ref float dyr = ref MemoryMarshal.GetReference(dy);
        for (int i = 0; i < n; i++)
            for (int r = 0; r < oh; r++)
                for (int q = 0; q < ow; q++)
                {
                    int o = ((i * oh + r) * ow + q) * c;
                    int corner = ((i * h + r * s) * w + q * s) * c;
                    for (int kh = 0; kh < k; kh++)
                        for (int kw = 0; kw < k; kw++)
                        {
                            int at = corner + (kh * w + kw) * c, j = 0;
                            if (vector)
                                for (; j + width <= c; j += width)
                                    (Vector.LoadUnsafe(ref dxr, (nuint)(at + j)) + Vector.LoadUnsafe(ref dyr, (nuint)(o + j)) * vscale)
                                        .StoreUnsafe(ref dxr, (nuint)(at + j));
                            for (; j < c; j++) dx[at + j] += dy[o + j] * scale;
                        }
                }
    }

    private static void Check(int pooled, int image, int n, int h, int w, int c, int oh, int ow)
    {
        if (oh < 1 || ow < 1 || pooled < (long)n * oh * ow * c || image < (long)n * h * w * c)
            throw new ArgumentException(
                $"ChannelsLastAvgPool: expected an image of {(long)n * h * w * c} values and a pooled one of {(long)n * Math.Max(oh, 0) * Math.Max(ow, 0) * c} but got {image} and {pooled}.");
    }
}
