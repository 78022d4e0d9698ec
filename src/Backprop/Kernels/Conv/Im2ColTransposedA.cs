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
    // Longest run one strip can hold: the widest register tile has 16 rows or fewer.
    private const int MostRuns = 16;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    public void Pack(float* dst, int i0, int p0, int count, int kc, int w)
    {
        // Per run of a strip: its first row in the strip, the tap's offsets (kh, kw) and first channel, its length.
        int* runRow = stackalloc int[MostRuns], runKh = stackalloc int[MostRuns], runKw = stackalloc int[MostRuns],
            runChannel = stackalloc int[MostRuns], runLength = stackalloc int[MostRuns];
        int c = g.C, ow0 = g.OW, oh0 = g.OH, width = g.W, height = g.H, stride = g.Stride, pad = g.Pad;
        for (int s0 = 0; s0 < count; s0 += w, dst += (nint)kc * w)
        {
            int valid = Math.Min(w, count - s0), runs = 0;
            for (int r = 0; r < valid;)
            {
                int i = i0 + s0 + r, tap = i / c, ch = i - tap * c, length = Math.Min(valid - r, c - ch);
                (runRow[runs], runKh[runs], runKw[runs], runChannel[runs], runLength[runs]) = (r, tap / g.KW, tap % g.KW, ch, length);
                runs++;
                r += length;
            }
            // Pixel p0 + q as (n, oh, ow), stepped along q.
            int pixel = p0, n = pixel / (oh0 * ow0), rest = pixel - n * oh0 * ow0, oh = rest / ow0, ow = rest - oh * ow0;
            float* d = dst;
            for (int q = 0; q < kc; q++, d += w)
            {
                for (int u = 0; u < runs; u++)
                {
                    int ih = oh * stride - pad + runKh[u], iw = ow * stride - pad + runKw[u];
                    float* to = d + runRow[u];
                    int length = runLength[u];
                    if ((uint)ih < (uint)height && (uint)iw < (uint)width)
                        Copy(to, x + ((nint)(n * height + ih) * width + iw) * c + runChannel[u], length);
                    else
                        for (int j = 0; j < length; j++) to[j] = 0f;
                }
                for (int r = valid; r < w; r++) d[r] = 0f;
                if (++ow == ow0)
                {
                    ow = 0;
                    if (++oh == oh0) (oh, n) = (0, n + 1);
                }
            }
        }
    }

    // length floats from src to dst: whole vectors where they fit (the last one may overlap the one before, writing
    // the same values twice), else one at a time.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(float* dst, float* src, int length)
    {
        if (length >= 8 && Vector256.IsHardwareAccelerated)
        {
            int j = 0;
            for (; j + 8 <= length; j += 8) Vector256.Store(Vector256.Load(src + j), dst + j);
            if (j < length) Vector256.Store(Vector256.Load(src + length - 8), dst + length - 8);
            return;
        }
        if (length >= 4 && Vector128.IsHardwareAccelerated)
        {
            int j = 0;
            for (; j + 4 <= length; j += 4) Vector128.Store(Vector128.Load(src + j), dst + j);
            if (j < length) Vector128.Store(Vector128.Load(src + length - 4), dst + length - 4);
            return;
        }
        for (int j = 0; j < length; j++) dst[j] = src[j];
    }
}
