using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// A convolution on channels-last images whose fan-in K = KH·KW·C is small — a first layer on grey or colour images
/// (K = 9 or 27 for 3×3) — done directly, without packing: the product col·Wr with col [pixels, K] is a GEMM whose depth
/// K is too short to pay for packing A and for the C tile's loads and stores (a 3×3 layer on one channel ran its GEMM at
/// a fifth of the FMA peak). Here each output pixel's K inputs are read where they lie in the image, and the
/// output channels are the vector lanes.
/// </summary>
/// <remarks>
/// <para>Forward, y[q, o] = Σ_i col(q, i)·Wr[i, o] starts from 0 and adds the K products in the order of i with fused
/// multiply-adds: the very operations of the GEMM micro-kernels for a depth within one k-block, so the result has the
/// bits of the GEMM path. The weight gradient dWr[i, o] = Σ_q col(q, i)·dZ[q, o] adds over the pixels q in order.</para>
/// <para>Every width (a vector of output channels at a time, then narrower vectors and single floats for the channels
/// left over) does the same operations on each output, so every width gives the scalar twin's bits.</para>
/// </remarks>
internal static unsafe class SmallConv
{
    /// <summary>The largest fan-in KH·KW·C taken here (a 3×3 kernel on up to 3 channels, 5×5 on one).</summary>
    public const int MaxFanIn = 32;

    /// <summary>Whether <paramref name="g"/>'s fan-in is small enough for this kernel.</summary>
    public static bool Fits(ConvGeometry g) => g.K <= MaxFanIn;

    /// <summary>y [N·OH·OW, oc] = col·Wr for the images <paramref name="x"/> [N, H, W, C] and Wr [K, oc] (overwritten).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    public static void Forward(Span<float> y, ReadOnlySpan<float> x, ConvGeometry g, ReadOnlySpan<float> wr, int oc, SimdWidth width)
    {
        Check(nameof(Forward), x, g, wr, y, oc);
        var shape = new Shape(g);
        int* taps = stackalloc int[shape.K];
        shape.Offsets(taps);
        fixed (float* py = y, px = x, pw = wr)
        {
            float* yq = py;
            for (int n = 0; n < g.N; n++)
            {
                float* image = shape.Padded(px, n);
                for (int oh = 0; oh < shape.OH; oh++)
                {
                    int ow = 0;
                    for (; ow + Block <= shape.OW; ow += Block, yq += Block * oc)
                        Pixels(yq, oc, shape.Corner(image, oh, ow), shape.Step, taps, pw, oc, shape.K, Block, width);
                    for (; ow < shape.OW; ow++, yq += oc)
                        Pixels(yq, oc, shape.Corner(image, oh, ow), shape.Step, taps, pw, oc, shape.K, 1, width);
                }
            }
        }
    }

    /// <summary>dWr [K, oc] = colᵀ·dZ for the images <paramref name="x"/> [N, H, W, C] and dZ [N·OH·OW, oc] (overwritten).</summary>
    /// <remarks>
    /// A vector of output channels at a time, the sums of up to 8 inputs i stay in registers over every pixel of an
    /// image (one dZ load and 8 fused multiply-adds a pixel), and go back to dWr between images; each sum adds its
    /// pixels in order, at every width.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    public static void WeightGradient(Span<float> dwr, ReadOnlySpan<float> x, ConvGeometry g, ReadOnlySpan<float> dz, int oc, SimdWidth width)
    {
        Check(nameof(WeightGradient), x, g, dwr, dz, oc);
        var shape = new Shape(g);
        int* taps = stackalloc int[shape.K];
        shape.Offsets(taps);
        dwr[..(shape.K * oc)].Clear();
        int pixels = shape.OH * shape.OW;
        fixed (float* pd = dwr, px = x, pz = dz)
            for (int n = 0; n < g.N; n++)
            {
                float* image = shape.Padded(px, n), zImage = pz + (nint)n * pixels * oc;
                int o = 0;
                if (width >= SimdWidth.Vector512)
                    for (; o + 16 <= oc; o += 16) Sums512(pd + o, oc, image, shape, taps, zImage + o, oc);
                if (width >= SimdWidth.Vector256)
                    for (; o + 8 <= oc; o += 8) Sums256(pd + o, oc, image, shape, taps, zImage + o, oc);
                if (width >= SimdWidth.Vector128)
                    for (; o + 4 <= oc; o += 4) Sums128(pd + o, oc, image, shape, taps, zImage + o, oc);
                for (; o < oc; o++)
                    for (int i = 0; i < shape.K; i++)
                    {
                        float a = pd[(nint)i * oc + o];
                        float* z = zImage + o;
                        for (int oh = 0; oh < shape.OH; oh++)
                        {
                            float* window = shape.Corner(image, oh, 0) + taps[i];
                            for (int ow = 0; ow < shape.OW; ow++, z += oc, window += shape.Step) a = MathF.FusedMultiplyAdd(*window, *z, a);
                        }
                        pd[(nint)i * oc + o] = a;
                    }
            }
    }

    // dw[i, 0 .. 16) += Σ_q col(q, i)·dz[q, 0 .. 16) over one image's pixels q in order, 8 inputs i per pass.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sums512(float* dw, int ldw, float* image, in Shape shape, int* taps, float* dz, int ldz)
    {
        int i = 0;
        for (; i + 8 <= shape.K; i += 8)
        {
            int t0 = taps[i], t1 = taps[i + 1], t2 = taps[i + 2], t3 = taps[i + 3], t4 = taps[i + 4], t5 = taps[i + 5], t6 = taps[i + 6], t7 = taps[i + 7];
            float* d = dw + (nint)i * ldw;
            var a0 = Vector512.Load(d); var a1 = Vector512.Load(d + ldw); var a2 = Vector512.Load(d + 2 * ldw); var a3 = Vector512.Load(d + 3 * ldw);
            var a4 = Vector512.Load(d + 4 * ldw); var a5 = Vector512.Load(d + 5 * ldw); var a6 = Vector512.Load(d + 6 * ldw); var a7 = Vector512.Load(d + 7 * ldw);
            float* z = dz;
            for (int oh = 0; oh < shape.OH; oh++)
            {
                float* w = shape.Corner(image, oh, 0);
                for (int ow = 0; ow < shape.OW; ow++, z += ldz, w += shape.Step)
                {
                    var zv = Vector512.Load(z);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(w[t0]), zv, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(w[t1]), zv, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(w[t2]), zv, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(w[t3]), zv, a3);
                    a4 = Vector512.FusedMultiplyAdd(Vector512.Create(w[t4]), zv, a4);
                    a5 = Vector512.FusedMultiplyAdd(Vector512.Create(w[t5]), zv, a5);
                    a6 = Vector512.FusedMultiplyAdd(Vector512.Create(w[t6]), zv, a6);
                    a7 = Vector512.FusedMultiplyAdd(Vector512.Create(w[t7]), zv, a7);
                }
            }
            a0.Store(d); a1.Store(d + ldw); a2.Store(d + 2 * ldw); a3.Store(d + 3 * ldw);
            a4.Store(d + 4 * ldw); a5.Store(d + 5 * ldw); a6.Store(d + 6 * ldw); a7.Store(d + 7 * ldw);
        }
        for (; i < shape.K; i++)
        {
            int t = taps[i];
            float* d = dw + (nint)i * ldw;
            var a = Vector512.Load(d);
            float* z = dz;
            for (int oh = 0; oh < shape.OH; oh++)
            {
                float* w = shape.Corner(image, oh, 0) + t;
                for (int ow = 0; ow < shape.OW; ow++, z += ldz, w += shape.Step)
                    a = Vector512.FusedMultiplyAdd(Vector512.Create(*w), Vector512.Load(z), a);
            }
            a.Store(d);
        }
    }

    // The same as Sums512, 8 channels wide.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sums256(float* dw, int ldw, float* image, in Shape shape, int* taps, float* dz, int ldz)
    {
        int i = 0;
        for (; i + 8 <= shape.K; i += 8)
        {
            int t0 = taps[i], t1 = taps[i + 1], t2 = taps[i + 2], t3 = taps[i + 3], t4 = taps[i + 4], t5 = taps[i + 5], t6 = taps[i + 6], t7 = taps[i + 7];
            float* d = dw + (nint)i * ldw;
            var a0 = Vector256.Load(d); var a1 = Vector256.Load(d + ldw); var a2 = Vector256.Load(d + 2 * ldw); var a3 = Vector256.Load(d + 3 * ldw);
            var a4 = Vector256.Load(d + 4 * ldw); var a5 = Vector256.Load(d + 5 * ldw); var a6 = Vector256.Load(d + 6 * ldw); var a7 = Vector256.Load(d + 7 * ldw);
            float* z = dz;
            for (int oh = 0; oh < shape.OH; oh++)
            {
                float* w = shape.Corner(image, oh, 0);
                for (int ow = 0; ow < shape.OW; ow++, z += ldz, w += shape.Step)
                {
                    var zv = Vector256.Load(z);
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(w[t0]), zv, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Create(w[t1]), zv, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Create(w[t2]), zv, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Create(w[t3]), zv, a3);
                    a4 = Vector256.FusedMultiplyAdd(Vector256.Create(w[t4]), zv, a4);
                    a5 = Vector256.FusedMultiplyAdd(Vector256.Create(w[t5]), zv, a5);
                    a6 = Vector256.FusedMultiplyAdd(Vector256.Create(w[t6]), zv, a6);
                    a7 = Vector256.FusedMultiplyAdd(Vector256.Create(w[t7]), zv, a7);
                }
            }
            a0.Store(d); a1.Store(d + ldw); a2.Store(d + 2 * ldw); a3.Store(d + 3 * ldw);
            a4.Store(d + 4 * ldw); a5.Store(d + 5 * ldw); a6.Store(d + 6 * ldw); a7.Store(d + 7 * ldw);
        }
        for (; i < shape.K; i++)
        {
            int t = taps[i];
            float* d = dw + (nint)i * ldw;
            var a = Vector256.Load(d);
            float* z = dz;
            for (int oh = 0; oh < shape.OH; oh++)
            {
                float* w = shape.Corner(image, oh, 0) + t;
                for (int ow = 0; ow < shape.OW; ow++, z += ldz, w += shape.Step)
                    a = Vector256.FusedMultiplyAdd(Vector256.Create(*w), Vector256.Load(z), a);
            }
            a.Store(d);
        }
    }

    // The same as Sums512, 4 channels wide (SSE, ARM64 NEON).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sums128(float* dw, int ldw, float* image, in Shape shape, int* taps, float* dz, int ldz)
    {
        int i = 0;
        for (; i + 8 <= shape.K; i += 8)
        {
            int t0 = taps[i], t1 = taps[i + 1], t2 = taps[i + 2], t3 = taps[i + 3], t4 = taps[i + 4], t5 = taps[i + 5], t6 = taps[i + 6], t7 = taps[i + 7];
            float* d = dw + (nint)i * ldw;
            var a0 = Vector128.Load(d); var a1 = Vector128.Load(d + ldw); var a2 = Vector128.Load(d + 2 * ldw); var a3 = Vector128.Load(d + 3 * ldw);
            var a4 = Vector128.Load(d + 4 * ldw); var a5 = Vector128.Load(d + 5 * ldw); var a6 = Vector128.Load(d + 6 * ldw); var a7 = Vector128.Load(d + 7 * ldw);
            float* z = dz;
            for (int oh = 0; oh < shape.OH; oh++)
            {
                float* w = shape.Corner(image, oh, 0);
                for (int ow = 0; ow < shape.OW; ow++, z += ldz, w += shape.Step)
                {
                    var zv = Vector128.Load(z);
                    a0 = Vector128.FusedMultiplyAdd(Vector128.Create(w[t0]), zv, a0);
                    a1 = Vector128.FusedMultiplyAdd(Vector128.Create(w[t1]), zv, a1);
                    a2 = Vector128.FusedMultiplyAdd(Vector128.Create(w[t2]), zv, a2);
                    a3 = Vector128.FusedMultiplyAdd(Vector128.Create(w[t3]), zv, a3);
                    a4 = Vector128.FusedMultiplyAdd(Vector128.Create(w[t4]), zv, a4);
                    a5 = Vector128.FusedMultiplyAdd(Vector128.Create(w[t5]), zv, a5);
                    a6 = Vector128.FusedMultiplyAdd(Vector128.Create(w[t6]), zv, a6);
                    a7 = Vector128.FusedMultiplyAdd(Vector128.Create(w[t7]), zv, a7);
                }
            }
            a0.Store(d); a1.Store(d + ldw); a2.Store(d + 2 * ldw); a3.Store(d + 3 * ldw);
            a4.Store(d + 4 * ldw); a5.Store(d + 5 * ldw); a6.Store(d + 6 * ldw); a7.Store(d + 7 * ldw);
        }
        for (; i < shape.K; i++)
        {
            int t = taps[i];
            float* d = dw + (nint)i * ldw;
            var a = Vector128.Load(d);
            float* z = dz;
            for (int oh = 0; oh < shape.OH; oh++)
            {
                float* w = shape.Corner(image, oh, 0) + t;
                for (int ow = 0; ow < shape.OW; ow++, z += ldz, w += shape.Step)
                    a = Vector128.FusedMultiplyAdd(Vector128.Create(*w), Vector128.Load(z), a);
            }
            a.Store(d);
        }
    }

    // Pixels side by side per block: 4 (the accumulators of a block, with the weights loaded once per input for all).
    private const int Block = 4;

    // y[j, o] = Σ_i s[off[i] + j·step]·w[i, o] for the `count` pixels j (Block or 1) and every output channel o.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pixels(float* y, int ldy, float* s, int step, int* off, float* w, int ldw, int k, int count, SimdWidth width)
    {
        int o = 0;
        if (width >= SimdWidth.Vector512 && count == Block)
            for (; o + 32 <= ldw; o += 32)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
                float* wi = w + o;
                for (int i = 0; i < k; i++, wi += ldw)
                {
                    var u = Vector512.Load(wi);
                    var v = Vector512.Load(wi + 16);
                    float* si = s + off[i];
                    var x0 = Vector512.Create(si[0]);
                    a0 = Vector512.FusedMultiplyAdd(x0, u, a0);
                    b0 = Vector512.FusedMultiplyAdd(x0, v, b0);
                    var x1 = Vector512.Create(si[step]);
                    a1 = Vector512.FusedMultiplyAdd(x1, u, a1);
                    b1 = Vector512.FusedMultiplyAdd(x1, v, b1);
                    var x2 = Vector512.Create(si[2 * step]);
                    a2 = Vector512.FusedMultiplyAdd(x2, u, a2);
                    b2 = Vector512.FusedMultiplyAdd(x2, v, b2);
                    var x3 = Vector512.Create(si[3 * step]);
                    a3 = Vector512.FusedMultiplyAdd(x3, u, a3);
                    b3 = Vector512.FusedMultiplyAdd(x3, v, b3);
                }
                a0.Store(y + o); b0.Store(y + o + 16);
                a1.Store(y + ldy + o); b1.Store(y + ldy + o + 16);
                a2.Store(y + 2 * ldy + o); b2.Store(y + 2 * ldy + o + 16);
                a3.Store(y + 3 * ldy + o); b3.Store(y + 3 * ldy + o + 16);
            }
        if (width >= SimdWidth.Vector512 && count == Block)
            for (; o + 16 <= ldw; o += 16)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int i = 0; i < k; i++)
                {
                    var wi = Vector512.Load(w + (nint)i * ldw + o);
                    float* si = s + off[i];
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(si[0]), wi, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(si[step]), wi, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(si[2 * step]), wi, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(si[3 * step]), wi, a3);
                }
                a0.Store(y + o);
                a1.Store(y + ldy + o);
                a2.Store(y + 2 * ldy + o);
                a3.Store(y + 3 * ldy + o);
            }
        if (width >= SimdWidth.Vector256 && count == Block)
            for (; o + 16 <= ldw; o += 16)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
                float* wi = w + o;
                for (int i = 0; i < k; i++, wi += ldw)
                {
                    var u = Vector256.Load(wi);
                    var v = Vector256.Load(wi + 8);
                    float* si = s + off[i];
                    var x0 = Vector256.Create(si[0]);
                    a0 = Vector256.FusedMultiplyAdd(x0, u, a0);
                    b0 = Vector256.FusedMultiplyAdd(x0, v, b0);
                    var x1 = Vector256.Create(si[step]);
                    a1 = Vector256.FusedMultiplyAdd(x1, u, a1);
                    b1 = Vector256.FusedMultiplyAdd(x1, v, b1);
                    var x2 = Vector256.Create(si[2 * step]);
                    a2 = Vector256.FusedMultiplyAdd(x2, u, a2);
                    b2 = Vector256.FusedMultiplyAdd(x2, v, b2);
                    var x3 = Vector256.Create(si[3 * step]);
                    a3 = Vector256.FusedMultiplyAdd(x3, u, a3);
                    b3 = Vector256.FusedMultiplyAdd(x3, v, b3);
                }
                a0.Store(y + o); b0.Store(y + o + 8);
                a1.Store(y + ldy + o); b1.Store(y + ldy + o + 8);
                a2.Store(y + 2 * ldy + o); b2.Store(y + 2 * ldy + o + 8);
                a3.Store(y + 3 * ldy + o); b3.Store(y + 3 * ldy + o + 8);
            }
        if (width >= SimdWidth.Vector256 && count == Block)
            for (; o + 8 <= ldw; o += 8)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int i = 0; i < k; i++)
                {
                    var wi = Vector256.Load(w + (nint)i * ldw + o);
                    float* si = s + off[i];
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(si[0]), wi, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Create(si[step]), wi, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Create(si[2 * step]), wi, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Create(si[3 * step]), wi, a3);
                }
                a0.Store(y + o);
                a1.Store(y + ldy + o);
                a2.Store(y + 2 * ldy + o);
                a3.Store(y + 3 * ldy + o);
            }
        for (int j = 0; j < count; j++, y += ldy, s += step)
        {
            int c = o;
            if (width >= SimdWidth.Vector512)
                for (; c + 16 <= ldw; c += 16)
                {
                    Vector512<float> a = default;
                    for (int i = 0; i < k; i++) a = Vector512.FusedMultiplyAdd(Vector512.Create(s[off[i]]), Vector512.Load(w + (nint)i * ldw + c), a);
                    a.Store(y + c);
                }
            if (width >= SimdWidth.Vector256)
                for (; c + 8 <= ldw; c += 8)
                {
                    Vector256<float> a = default;
                    for (int i = 0; i < k; i++) a = Vector256.FusedMultiplyAdd(Vector256.Create(s[off[i]]), Vector256.Load(w + (nint)i * ldw + c), a);
                    a.Store(y + c);
                }
            if (width >= SimdWidth.Vector128)
                for (; c + 4 <= ldw; c += 4)
                {
                    Vector128<float> a = default;
                    for (int i = 0; i < k; i++) a = Vector128.FusedMultiplyAdd(Vector128.Create(s[off[i]]), Vector128.Load(w + (nint)i * ldw + c), a);
                    a.Store(y + c);
                }
            for (; c < ldw; c++)
            {
                float a = 0f;
                for (int i = 0; i < k; i++) a = MathF.FusedMultiplyAdd(s[off[i]], w[(nint)i * ldw + c], a);
                y[c] = a;
            }
        }
    }

    /// <summary>
    /// The geometry's sizes, computed once (ConvGeometry's are properties that divide), and each image with its zero
    /// padding written out (in a per-thread buffer), so that every output pixel's window lies inside it: input i of
    /// pixel (oh, ow) is at its window's corner plus taps[i]. The padding's zeros enter the sums as the GEMM path's
    /// packed zeros do, so the bits are the same.
    /// </summary>
    private readonly struct Shape
    {
        public readonly int K, OH, OW;

        /// <summary>Floats between the windows of neighbouring output pixels of a row: stride·C.</summary>
        public readonly int Step;

        private readonly ConvGeometry g;
        private readonly int paddedWidth;      // W + 2·pad
        private readonly float* padded;         // [H + 2·pad, W + 2·pad, C], null without padding

        public Shape(ConvGeometry g)
        {
            this.g = g;
            (K, OH, OW, Step) = (g.K, g.OH, g.OW, g.Stride * g.C);
            paddedWidth = g.W + 2 * g.Pad;
            if (g.Pad == 0) return;
            int floats = (g.H + 2 * g.Pad) * paddedWidth * g.C;
            padded = GemmBuffers.Image(floats);
            new Span<float>(padded, floats).Clear();   // the border, written once: each image fills only the inside
        }

        /// <summary>taps[i] for i = (kh·KW + kw)·C + c: (kh·W' + kw)·C + c, where input i lies from a window's corner.</summary>
        public void Offsets(int* taps)
        {
            for (int kh = 0, i = 0; kh < g.KH; kh++)
                for (int kw = 0; kw < g.KW; kw++)
                    for (int c = 0; c < g.C; c++, i++)
                        taps[i] = (kh * paddedWidth + kw) * g.C + c;
        }

        /// <summary>Image n of x, padded (copied inside the zero border) when the geometry pads.</summary>
        public float* Padded(float* x, int n)
        {
            float* image = x + (nint)n * g.ImageSize;
            if (padded is null) return image;
            int row = g.W * g.C;
            for (int h = 0; h < g.H; h++)
                new ReadOnlySpan<float>(image + (nint)h * row, row)
                    .CopyTo(new Span<float>(padded + ((nint)(h + g.Pad) * paddedWidth + g.Pad) * g.C, row));
            return padded;
        }

        /// <summary>Where the window of output pixel (oh, ow) starts in a padded image.</summary>
        public float* Corner(float* image, int oh, int ow) => image + ((nint)oh * g.Stride * paddedWidth + ow * g.Stride) * g.C;
    }

    private static void Check(string name, ReadOnlySpan<float> x, ConvGeometry g, ReadOnlySpan<float> weights, ReadOnlySpan<float> rows, int oc)
    {
        if (g.K > MaxFanIn || oc < 0 || x.Length < (long)g.N * g.ImageSize || weights.Length < (long)g.K * oc || rows.Length < (long)g.N * g.P * oc)
            throw new ArgumentException(
                $"SmallConv.{name}: expected a fan-in ≤ {MaxFanIn}, images ≥ {(long)g.N * g.ImageSize}, weights ≥ {(long)g.K * oc} and " +
                $"rows ≥ {(long)g.N * g.P * oc} values for {g} and {oc} output channels, but got fan-in {g.K} and {x.Length}, " +
                $"{weights.Length} and {rows.Length} values.");
    }
}
