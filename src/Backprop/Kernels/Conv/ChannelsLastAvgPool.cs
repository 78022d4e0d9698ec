using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// Average pooling over k×k windows moved by a stride s, without padding, on channels-last images [N, H, W, C] →
/// [N, (H − k)/s + 1, (W − k)/s + 1, C]: the compiled training step's twin of <see cref="Pool2dKernels.AvgForward(float[], float[], ConvGeometry, int?)"/> and
/// <see cref="Pool2dKernels.AvgBackward(float[], float[], ConvGeometry, int?)"/>. Each window is summed from 0 in row-major order and the sum multiplied by
/// 1/k², as they do, so the values are the same bit for bit; the inner loops run across a pixel's C contiguous
/// channels at <see cref="Simd.Width"/> (every width gives the same bits). Span in, span out; no allocation, no autograd.
/// </summary>
internal static class ChannelsLastAvgPool
{
    /// <summary>y[n, oh, ow, c] = (Σ over the window at (oh·s, ow·s) of x[n, ·, ·, c]) · 1/k².</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(Span<float> y, ReadOnlySpan<float> x, int n, int h, int w, int c, int k, int s) =>
        Forward(y, x, n, h, w, c, k, s, Simd.Width);

    /// <summary><see cref="Forward(Span{float}, ReadOnlySpan{float}, int, int, int, int, int, int)"/> at a given width: each vector of channels sums its window in a register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Forward(Span<float> y, ReadOnlySpan<float> x, int n, int h, int w, int c, int k, int s, SimdWidth width)
    {
        int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
        Check(y.Length, x.Length, n, h, w, c, oh, ow);
        float scale = 1f / (k * k);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        for (int i = 0; i < n; i++)
            for (int r = 0; r < oh; r++)
                for (int q = 0; q < ow; q++)
                {
                    int o = ((i * oh + r) * ow + q) * c;
                    int corner = ((i * h + r * s) * w + q * s) * c;   // the window's top-left pixel
                    int j = 0;
                    if (width >= SimdWidth.Vector512) j = Window512(ref yr, ref xr, o, corner, w * c, c, k, scale, j);
                    if (width >= SimdWidth.Vector256) j = Window256(ref yr, ref xr, o, corner, w * c, c, k, scale, j);
                    if (width >= SimdWidth.Vector128) j = Window128(ref yr, ref xr, o, corner, w * c, c, k, scale, j);
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
    public static void Backward(Span<float> dx, ReadOnlySpan<float> dy, int n, int h, int w, int c, int k, int s) =>
        Backward(dx, dy, n, h, w, c, k, s, Simd.Width);

    /// <summary>
    /// <see cref="Backward(Span{float}, ReadOnlySpan{float}, int, int, int, int, int, int)"/> at a given width: each window
    /// pixel's C channels take dx ← dy·(1/k²) + dx through <see cref="SimdDriver"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Backward(Span<float> dx, ReadOnlySpan<float> dy, int n, int h, int w, int c, int k, int s, SimdWidth width)
    {
        int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
        Check(dy.Length, dx.Length, n, h, w, c, oh, ow);
        dx[..(n * h * w * c)].Clear();
        float scale = 1f / (k * k);
        for (int i = 0; i < n; i++)
            for (int r = 0; r < oh; r++)
                for (int q = 0; q < ow; q++)
                {
                    var share = dy.Slice(((i * oh + r) * ow + q) * c, c);
                    int corner = ((i * h + r * s) * w + q * s) * c;
                    for (int kh = 0; kh < k; kh++)
                        for (int kw = 0; kw < k; kw++)
                        {
                            var d = dx.Slice(corner + (kh * w + kw) * c, c);
                            SimdDriver.Map<ScaleAddOperator>(d, share, d, scale, width);
                        }
                }
    }

    // y[o + j..] = (Σ over the window of x) · scale for vectors of channels from j at 512 bits; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Window512(ref float y, ref float x, int o, int corner, int rowStep, int c, int k, float scale, int j)
    {
        var vscale = Vector512.Create(scale);
        for (; j + 16 <= c; j += 16)
        {
            var sum = Vector512<float>.Zero;
            for (int kh = 0; kh < k; kh++)
                for (int kw = 0, at = corner + kh * rowStep + j; kw < k; kw++, at += c) sum += Vector512.LoadUnsafe(ref x, (nuint)at);
            (sum * vscale).StoreUnsafe(ref y, (nuint)(o + j));
        }
        return j;
    }

    // y[o + j..] = (Σ over the window of x) · scale for vectors of channels from j at 256 bits; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Window256(ref float y, ref float x, int o, int corner, int rowStep, int c, int k, float scale, int j)
    {
        var vscale = Vector256.Create(scale);
        for (; j + 8 <= c; j += 8)
        {
            var sum = Vector256<float>.Zero;
            for (int kh = 0; kh < k; kh++)
                for (int kw = 0, at = corner + kh * rowStep + j; kw < k; kw++, at += c) sum += Vector256.LoadUnsafe(ref x, (nuint)at);
            (sum * vscale).StoreUnsafe(ref y, (nuint)(o + j));
        }
        return j;
    }

    // y[o + j..] = (Σ over the window of x) · scale for vectors of channels from j at 128 bits; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Window128(ref float y, ref float x, int o, int corner, int rowStep, int c, int k, float scale, int j)
    {
        var vscale = Vector128.Create(scale);
        for (; j + 4 <= c; j += 4)
        {
            var sum = Vector128<float>.Zero;
            for (int kh = 0; kh < k; kh++)
                for (int kw = 0, at = corner + kh * rowStep + j; kw < k; kw++, at += c) sum += Vector128.LoadUnsafe(ref x, (nuint)at);
            (sum * vscale).StoreUnsafe(ref y, (nuint)(o + j));
        }
        return j;
    }

    private static void Check(int pooled, int image, int n, int h, int w, int c, int oh, int ow)
    {
        if (oh < 1 || ow < 1 || pooled < (long)n * oh * ow * c || image < (long)n * h * w * c)
            throw new ArgumentException(
                $"ChannelsLastAvgPool: expected an image of {(long)n * h * w * c} values and a pooled one of {(long)n * Math.Max(oh, 0) * Math.Max(ow, 0) * c} but got {image} and {pooled}.");
    }
}
