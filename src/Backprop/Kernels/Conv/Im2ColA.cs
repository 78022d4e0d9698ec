using System.Runtime.CompilerServices;

namespace Backprop.Kernels;

/// <summary>
/// The im2col matrix of channels-last images as a GEMM A operand that is never written out: A(q, i) = col(q, i), where
/// col [N·OH·OW, K] has one row per output pixel q = (n, oh, ow) and one column per kernel tap and channel,
/// i = (kh·KW + kw)·C + c, holding x[n, oh·s − pad + kh, ow·s − pad + kw, c] (0 in the padding). A convolution's
/// forward A = col·Wr is then a GEMM whose A strips are packed straight from the images
/// (see <see cref="Gemm.MultiplyIm2Col"/>).
/// </summary>
/// <remarks>
/// A strip holds w pixels and, for each column i, their w values side by side: a transpose of w rows of col. For one
/// kernel row kh, a pixel's columns kw·C + c are KW·C contiguous floats of x (the KW neighbouring input pixels), so
/// each (strip, kh) is w source rows transposed at once (<see cref="GemmPacking.StripFromRowPointers"/>); a pixel whose
/// run crosses the padding is first copied, zeros and all, into a scratch row. Writing col and then transposing it
/// into strips moved every value twice more. The packed values are exactly those of the explicit col, so the product
/// has the same bits.
/// </remarks>
internal readonly unsafe struct Im2ColA(float* x, ConvGeometry g) : IPackA
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    public void Pack(float* dst, int i0, int p0, int count, int kc, int w)
    {
        int c = g.C, run = g.KW * c;
        nint rowFloats = (nint)g.W * c;
        int most = Math.Min(kc, run);   // the longest piece of one kernel row inside [p0, p0 + kc)
        float* zeros = stackalloc float[most];
        new Span<float>(zeros, most).Clear();
        float* scratch = stackalloc float[w * most];
        float** rows = stackalloc float*[w];
        // Per strip pixel: its window's first input row (oh·s − pad), where its kernel row 0 starts in x (which may lie
        // outside x: only the part inside the image is read), and the part [inLo, inHi) of each kernel row's run of
        // KW·C floats that falls on input columns inside the image. Stepped from pixel to pixel, not divided out.
        int* ih0 = stackalloc int[w], inLo = stackalloc int[w], inHi = stackalloc int[w];
        float** start = stackalloc float*[w];
        int n = i0 / g.P, rest = i0 - n * g.P, oh = rest / g.OW, ow = rest - oh * g.OW;
        for (int s0 = 0; s0 < count; s0 += w, dst += (nint)kc * w)
        {
            int valid = Math.Min(w, count - s0);
            for (int r = 0; r < valid; r++)
            {
                int ih = oh * g.Stride - g.Pad, iw = ow * g.Stride - g.Pad;
                ih0[r] = ih;
                start[r] = x + ((nint)(n * g.H + ih) * g.W + iw) * c;
                inLo[r] = Math.Max(0, -iw * c);
                inHi[r] = Math.Min(run, (g.W - iw) * c);
                if (++ow < g.OW) continue;
                ow = 0;
                if (++oh == g.OH) (oh, n) = (0, n + 1);
            }
            for (int p = p0; p < p0 + kc;)
            {
                int kh = p / run, j = p - kh * run, length = Math.Min(run - j, p0 + kc - p);
                for (int r = 0; r < w; r++)
                {
                    float* row = zeros;
                    if (r < valid && (uint)(ih0[r] + kh) < (uint)g.H)
                    {
                        // The piece's floats [lo, hi) (of 0 .. length) are inside the image.
                        int lo = Math.Max(0, inLo[r] - j), hi = Math.Min(length, inHi[r] - j);
                        row = start[r] + kh * rowFloats + j;
                        if (lo != 0 || hi != length) row = hi <= lo ? zeros : Padded(row, lo, hi, length, scratch + r * most);
                    }
                    rows[r] = row;
                }
                GemmPacking.StripFromRowPointers(dst + (nint)(p - p0) * w, rows, w, length);
                p += length;
            }
        }
    }

    // A piece of a kernel row that crosses the padding: its floats [lo, hi) from `row`, zeros around them, in scratch.
    private static float* Padded(float* row, int lo, int hi, int length, float* scratch)
    {
        new Span<float>(scratch, lo).Clear();
        new ReadOnlySpan<float>(row + lo, hi - lo).CopyTo(new Span<float>(scratch + lo, hi - lo));
        new Span<float>(scratch + hi, length - hi).Clear();
        return scratch;
    }
}
