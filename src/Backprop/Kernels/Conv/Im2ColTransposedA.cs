using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// The transposed im2col matrix of channels-last images as a GEMM A operand that is never written out:
/// A(i, q) = col(q, i), where col [N·OH·OW, K] has one row per output pixel q = (n, oh, ow) and one column per
/// kernel tap and channel, i = (kh·KW + kw)·C + c, holding x[n, oh·s − pad + kh, ow·s − pad + kw, c] (0 in the
/// padding). A convolution's weight gradient dWr[K, OC] = colᵀ·dZ is then a GEMM whose A strips are packed straight
/// from the images (see <see cref="Gemm.MultiplyIm2ColTransposed"/>).
/// </summary>
/// <remarks>
/// A strip holds w consecutive i for each pixel q, i.e. w consecutive channels of one or two taps of one pixel: runs
/// of contiguous floats in x, so packing is a few short copies per pixel. Writing col and then transposing it into
/// strips (im2col, then the packing of a transposed A) moved every value twice more. The packed values are exactly
/// those of the explicit col, so the product has the same bits.
/// </remarks>
internal readonly unsafe struct Im2ColTransposedA(float* x, ConvGeometry g) : IPackA
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(float* dst, int i0, int p0, int count, int kc, int w)
    {
        int c = g.C;
        for (int s0 = 0; s0 < count; s0 += w, dst += (nint)kc * w)
        {
            int valid = Math.Min(w, count - s0);
            // The strip's rows are runs of consecutive channels of one tap; each run is packed for all kc pixels.
            for (int r = 0; r < valid;)
            {
                int i = i0 + s0 + r, tap = i / c, ch = i - tap * c, length = Math.Min(valid - r, c - ch);
                PackRun(dst + r, w, p0, kc, tap / g.KW, tap % g.KW, ch, length);
                r += length;
            }
            if (valid < w) Fill(dst + valid, w, kc, w - valid);
        }
    }

    // Rows [r, r + length) of a strip (at d, w floats per pixel) for pixels p0 .. p0 + kc: channels ch .. ch + length of
    // tap (kh, kw). The pixels are walked one output row (n, oh) at a time; along a row the input column
    // iw = ow·stride − pad + kw is inside the image for ow in [lo, hi), a range fixed by the geometry, so the bounds
    // are found once per row and the copies in between step by stride·C floats with no test.
    private void PackRun(float* d, int w, int p0, int kc, int kh, int kw, int ch, int length)
    {
        int ohs = g.OH, ows = g.OW, stride = g.Stride, pad = g.Pad, c = g.C;
        // lo = ⌈(pad − kw) / stride⌉ clamped at 0; hi = ⌊(W − 1 + pad − kw) / stride⌋ + 1 clamped at 0.
        int lo = pad - kw <= 0 ? 0 : (pad - kw + stride - 1) / stride;
        int last = g.W - 1 + pad - kw, hi = last < 0 ? 0 : last / stride + 1;
        hi = Math.Min(hi, ows);
        lo = Math.Min(lo, hi);
        int n = p0 / (ohs * ows), rest = p0 - n * ohs * ows, oh = rest / ows, ow = rest - oh * ows;
        for (int left = kc; left > 0;)
        {
            int end = Math.Min(ows, ow + left), ih = oh * stride - pad + kh;
            if ((uint)ih >= (uint)g.H)
            {
                Fill(d, w, end - ow, length);
            }
            else
            {
                int a = Math.Clamp(lo, ow, end), b = Math.Clamp(hi, ow, end);
                Fill(d, w, a - ow, length);
                float* src = x + ((nint)(n * g.H + ih) * g.W + a * stride - pad + kw) * c + ch;
                Copy(d + (nint)(a - ow) * w, w, src, (nint)stride * c, b - a, length);
                Fill(d + (nint)(b - ow) * w, w, end - b, length);
            }
            d += (nint)(end - ow) * w;
            left -= end - ow;
            ow = 0;
            if (++oh == ohs) (oh, n) = (0, n + 1);
        }
    }

    // For each of `pixels` strip rows (w floats apart): length floats from src (step floats apart). Whole vectors where
    // they fit; the last vector of a row may overlap the one before it, writing the same values twice.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(float* d, int w, float* src, nint step, int pixels, int length)
    {
        if (length >= 8 && Vector256.IsHardwareAccelerated)
        {
            for (int q = 0; q < pixels; q++, d += w, src += step)
            {
                int j = 0;
                for (; j + 8 <= length; j += 8) Vector256.Store(Vector256.Load(src + j), d + j);
                if (j < length) Vector256.Store(Vector256.Load(src + length - 8), d + length - 8);
            }
        }
        else if (length >= 4 && Vector128.IsHardwareAccelerated)
        {
            for (int q = 0; q < pixels; q++, d += w, src += step)
            {
                int j = 0;
                for (; j + 4 <= length; j += 4) Vector128.Store(Vector128.Load(src + j), d + j);
                if (j < length) Vector128.Store(Vector128.Load(src + length - 4), d + length - 4);
            }
        }
        else if (length == 1)
        {
            for (int q = 0; q < pixels; q++, d += w, src += step) *d = *src;
        }
        else
        {
            for (int q = 0; q < pixels; q++, d += w, src += step)
                for (int j = 0; j < length; j++) d[j] = src[j];
        }
    }

    // Zeros length floats in each of `pixels` strip rows (w floats apart): padding taps, and the rows past a short strip.
    private static void Fill(float* d, int w, int pixels, int length)
    {
        for (int q = 0; q < pixels; q++, d += w)
            new Span<float>(d, length).Clear();
    }
}
