using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>
/// Convolution and pooling kernels on channels-last images, <c>[N, H, W, C]</c> (NHWC), the layout the compiled
/// training step uses: a pixel's C channels are contiguous, so im2col copies whole runs of KW·C floats, a convolution
/// is one GEMM <c>[N·OH·OW, KH·KW·C]·[KH·KW·C, OC]</c> whose output is again NHWC, and pooling compares whole vectors
/// of channels. Span in, span out; no allocation, no autograd.
/// </summary>
internal static class ChannelsLast
{
    /// <summary>
    /// y[i, c, r] = x[i, r, c] for each of <paramref name="n"/> examples of [rows, cols]: NCHW → NHWC with rows = C and
    /// cols = H·W, and back with the two swapped.
    /// </summary>
    /// <remarks>
    /// Tiles of <see cref="TransposeTile"/>×<see cref="TransposeTile"/> keep both the rows read and the columns written in
    /// cache (a plain double loop writes with a stride of <c>rows</c> floats across the whole output); inside a tile,
    /// 4×4 blocks are transposed in SSE registers (<see cref="GemmPacking.Transpose4x4"/>), the edges one float at a
    /// time. A copy: every order gives the same result, so there is no width to choose.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void TransposeEach(Span<float> y, ReadOnlySpan<float> x, int n, int rows, int cols)
    {
        int size = rows * cols;
        if (x.Length < (long)n * size || y.Length < (long)n * size)
            throw new ArgumentException($"ChannelsLast.TransposeEach: expected x and y ≥ {(long)n * size} floats for {n}×[{rows}, {cols}] but got {x.Length} and {y.Length}.");
        if (rows == 1 || cols == 1)
        {
            x[..(n * size)].CopyTo(y);
            return;
        }
        fixed (float* px = x, py = y)
            for (int i = 0; i < n; i++)
            {
                float* xi = px + (nint)i * size, yi = py + (nint)i * size;
                for (int r0 = 0; r0 < rows; r0 += TransposeTile)
                {
                    int r1 = Math.Min(rows, r0 + TransposeTile);
                    for (int c0 = 0; c0 < cols; c0 += TransposeTile)
                        TransposeTileAt(yi, xi, rows, cols, r0, r1, c0, Math.Min(cols, c0 + TransposeTile));
                }
            }
    }

    // y[c·rows + r] = x[r·cols + c] for r in [r0, r1), c in [c0, c1): 4×4 blocks in registers, the rest one at a time.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void TransposeTileAt(float* y, float* x, int rows, int cols, int r0, int r1, int c0, int c1)
    {
        int r = r0;
        if (Sse.IsSupported)
            for (; r + 4 <= r1; r += 4)
            {
                float* s0 = x + (nint)r * cols, s1 = s0 + cols, s2 = s1 + cols, s3 = s2 + cols;
                int c = c0;
                for (; c + 4 <= c1; c += 4) GemmPacking.Transpose4x4(s0 + c, s1 + c, s2 + c, s3 + c, y + (nint)c * rows + r, rows);
                for (; c < c1; c++)
                {
                    float* d = y + (nint)c * rows + r;
                    (d[0], d[1], d[2], d[3]) = (s0[c], s1[c], s2[c], s3[c]);
                }
            }
        for (; r < r1; r++)
            for (int c = c0; c < c1; c++) y[(nint)c * rows + r] = x[(nint)r * cols + c];
    }

    /// <summary>Side of a transpose tile: 16×16 floats read and 16 rows of 64 bytes written stay in L1.</summary>
    private const int TransposeTile = 16;

    /// <summary>
    /// col[(n, oh, ow), (kh, kw, c)] = x[n, oh·s − p + kh, ow·s − p + kw, c], zero outside the image. For each (row, kh)
    /// the KW·C values are one contiguous run of x (clipped at the left and right edges).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Im2Col(Span<float> col, ReadOnlySpan<float> x, ConvGeometry g)
    {
        int c = g.C, kw = g.KW, k = g.K, run = kw * c;
        int row = 0;
        for (int n = 0; n < g.N; n++)
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++, row++)
                {
                    var dst = col.Slice(row * k, k);
                    int iw0 = ow * g.Stride - g.Pad;
                    int lo = Math.Max(0, -iw0), hi = Math.Min(kw, g.W - iw0);   // kw range inside the image
                    for (int kh = 0; kh < g.KH; kh++)
                    {
                        var d = dst.Slice(kh * run, run);
                        int ih = oh * g.Stride - g.Pad + kh;
                        if (ih < 0 || ih >= g.H || hi <= lo)
                        {
                            d.Clear();
                            continue;
                        }
                        if (lo > 0) d[..(lo * c)].Clear();
                        var src = x.Slice(((n * g.H + ih) * g.W + iw0 + lo) * c, (hi - lo) * c);
                        if (src.Length <= 16)
                            for (int j = 0; j < src.Length; j++) d[lo * c + j] = src[j];   // short runs (few channels): a call to memmove costs more
                        else src.CopyTo(d[(lo * c)..]);
                        if (hi < kw) d[(hi * c)..].Clear();
                    }
                }
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: dx[n, ih, iw, c] += Σ dcol over every (row, kh, kw) that read it. dx is overwritten.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Col2Im(Span<float> dx, ReadOnlySpan<float> dcol, ConvGeometry g) => Col2Im(dx, dcol, g, Simd.Width);

    /// <summary><see cref="Col2Im(Span{float}, ReadOnlySpan{float}, ConvGeometry)"/> at a given width: each clipped run of (KW)·C values is added through <see cref="SimdDriver"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Col2Im(Span<float> dx, ReadOnlySpan<float> dcol, ConvGeometry g, SimdWidth width)
    {
        int c = g.C, kw = g.KW, k = g.K, run = kw * c;
        dx[..(g.N * g.H * g.W * c)].Clear();
        int row = 0;
        for (int n = 0; n < g.N; n++)
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++, row++)
                {
                    var src = dcol.Slice(row * k, k);
                    int iw0 = ow * g.Stride - g.Pad;
                    int lo = Math.Max(0, -iw0), hi = Math.Min(kw, g.W - iw0);
                    if (hi <= lo) continue;
                    for (int kh = 0; kh < g.KH; kh++)
                    {
                        int ih = oh * g.Stride - g.Pad + kh;
                        if (ih < 0 || ih >= g.H) continue;
                        var d = dx.Slice(((n * g.H + ih) * g.W + iw0 + lo) * c, (hi - lo) * c);
                        SimdDriver.Map<AddOperator>(d, d, src.Slice(kh * run + lo * c, (hi - lo) * c), width);
                    }
                }
    }

    /// <summary>
    /// y[n, oh, ow, c] = max over the k×k window at (oh·s, ow·s) of x[n, ·, ·, c]; arg holds the winner's position in
    /// the window (kh·k + kw), the first maximum in row-major order on ties (PyTorch's rule).
    /// </summary>
    public static void MaxPool(Span<float> y, Span<int> arg, ReadOnlySpan<float> x, int n, int h, int w, int c, int k, int s) =>
        MaxPool(y, arg, x, n, h, w, c, k, s, Simd.Width);

    /// <summary><see cref="MaxPool(Span{float}, Span{int}, ReadOnlySpan{float}, int, int, int, int, int, int)"/> at a given width.</summary>
    /// <remarks>
    /// Each output pixel's channels are taken a vector at a time; the running maximum and its tap stay in registers
    /// over the k×k taps and are stored once. The taps are compared in row-major order with a strict &gt; at every
    /// width and in the scalar loop for the channels left over, so each value and winner is the same whichever width
    /// handles its channel; a NaN never wins (unless it is the first tap).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void MaxPool(Span<float> y, Span<int> arg, ReadOnlySpan<float> x, int n, int h, int w, int c, int k, int s, SimdWidth width)
    {
        int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
        if (x.Length < (long)n * h * w * c || y.Length < (long)n * oh * ow * c || arg.Length < (long)n * oh * ow * c)
            throw new ArgumentException($"ChannelsLast.MaxPool: expected x ≥ {(long)n * h * w * c} and y, arg ≥ {(long)n * oh * ow * c} values but got {x.Length}, {y.Length}, {arg.Length}.");
        nint row = (nint)w * c;
        fixed (float* px = x, py = y)
        fixed (int* pa = arg)
            for (int i = 0; i < n; i++)
                for (int r = 0; r < oh; r++)
                    for (int q = 0; q < ow; q++)
                    {
                        nint o = ((nint)(i * oh + r) * ow + q) * c;
                        float* window = px + ((nint)(i * h + r * s) * w + q * s) * c, yo = py + o;
                        int* ao = pa + o;
                        int j = 0;
                        if (width >= SimdWidth.Vector512)
                            for (; j + 16 <= c; j += 16) MaxWindow512(window + j, yo + j, ao + j, k, row, c);
                        if (width >= SimdWidth.Vector256)
                            for (; j + 8 <= c; j += 8) MaxWindow256(window + j, yo + j, ao + j, k, row, c);
                        if (width >= SimdWidth.Vector128)
                            for (; j + 4 <= c; j += 4) MaxWindow128(window + j, yo + j, ao + j, k, row, c);
                        for (; j < c; j++)
                        {
                            float best = window[j];
                            int at = 0;
                            for (int kh = 0; kh < k; kh++)
                                for (int kw = 0; kw < k; kw++)
                                {
                                    float v = window[kh * row + kw * c + j];
                                    if (v > best) (best, at) = (v, kh * k + kw);
                                }
                            (yo[j], ao[j]) = (best, at);
                        }
                    }
    }

    // One vector of channels of one window: y = the maximum over the k×k taps (rows `row` floats apart, taps c apart),
    // arg = the first tap (kh·k + kw) that holds it. Tap 0 compared with itself never wins, so the loop needs no skip.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void MaxWindow512(float* x, float* y, int* arg, int k, nint row, nint c)
    {
        var best = Vector512.Load(x);
        var at = Vector512<int>.Zero;
        for (int kh = 0; kh < k; kh++)
            for (int kw = 0; kw < k; kw++)
            {
                var v = Vector512.Load(x + kh * row + kw * c);
                var wins = Vector512.GreaterThan(v, best);
                best = Vector512.ConditionalSelect(wins, v, best);
                at = Vector512.ConditionalSelect(wins.AsInt32(), Vector512.Create(kh * k + kw), at);
            }
        best.Store(y);
        at.Store(arg);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void MaxWindow256(float* x, float* y, int* arg, int k, nint row, nint c)
    {
        var best = Vector256.Load(x);
        var at = Vector256<int>.Zero;
        for (int kh = 0; kh < k; kh++)
            for (int kw = 0; kw < k; kw++)
            {
                var v = Vector256.Load(x + kh * row + kw * c);
                var wins = Vector256.GreaterThan(v, best);
                best = Vector256.ConditionalSelect(wins, v, best);
                at = Vector256.ConditionalSelect(wins.AsInt32(), Vector256.Create(kh * k + kw), at);
            }
        best.Store(y);
        at.Store(arg);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void MaxWindow128(float* x, float* y, int* arg, int k, nint row, nint c)
    {
        var best = Vector128.Load(x);
        var at = Vector128<int>.Zero;
        for (int kh = 0; kh < k; kh++)
            for (int kw = 0; kw < k; kw++)
            {
                var v = Vector128.Load(x + kh * row + kw * c);
                var wins = Vector128.GreaterThan(v, best);
                best = Vector128.ConditionalSelect(wins, v, best);
                at = Vector128.ConditionalSelect(wins.AsInt32(), Vector128.Create(kh * k + kw), at);
            }
        best.Store(y);
        at.Store(arg);
    }

    /// <summary>The max gate backward: dx (overwritten) receives each dy at its window's winner, zero elsewhere.</summary>
    public static void MaxPoolBackward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<int> arg, int n, int h, int w, int c, int k, int s) =>
        MaxPoolBackward(dx, dy, arg, n, h, w, c, k, s, Simd.Width);

    /// <summary>
    /// <see cref="MaxPoolBackward(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{int}, int, int, int, int, int, int)"/> at a
    /// given width.
    /// </summary>
    /// <remarks>
    /// With windows that tile the image (stride = k), every input in the tiled region belongs to exactly one window,
    /// so dx is written once per element as select(arg = its position, dy, +0), whole vectors of channels at a time
    /// and the channels left over one by one; overlapping windows scatter-add one value at a time (at every width).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void MaxPoolBackward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<int> arg, int n, int h, int w, int c, int k, int s, SimdWidth width)
    {
        int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
        if (dx.Length < (long)n * h * w * c || dy.Length < (long)n * oh * ow * c || arg.Length < dy.Length)
            throw new ArgumentException($"ChannelsLast.MaxPoolBackward: expected dx ≥ {(long)n * h * w * c} and dy, arg ≥ {(long)n * oh * ow * c} values but got {dx.Length}, {dy.Length}, {arg.Length}.");
        if (s == k)
        {
            if (oh * k != h || ow * k != w) dx[..(n * h * w * c)].Clear();   // rows or columns no window covers
            nint row = (nint)w * c;
            fixed (float* pdx = dx, pdy = dy)
            fixed (int* pa = arg)
                for (int i = 0; i < n; i++)
                    for (int r = 0; r < oh; r++)
                        for (int q = 0; q < ow; q++)
                        {
                            nint o = ((nint)(i * oh + r) * ow + q) * c;
                            float* window = pdx + ((nint)(i * h + r * k) * w + q * k) * c, dyo = pdy + o;
                            int* ao = pa + o;
                            int j = 0;
                            if (width >= SimdWidth.Vector512)
                                for (; j + 16 <= c; j += 16) RouteWindow512(window + j, dyo + j, ao + j, k, row, c);
                            if (width >= SimdWidth.Vector256)
                                for (; j + 8 <= c; j += 8) RouteWindow256(window + j, dyo + j, ao + j, k, row, c);
                            if (width >= SimdWidth.Vector128)
                                for (; j + 4 <= c; j += 4) RouteWindow128(window + j, dyo + j, ao + j, k, row, c);
                            for (; j < c; j++)
                                for (int kh = 0; kh < k; kh++)
                                    for (int kw = 0; kw < k; kw++)
                                        window[kh * row + kw * c + j] = ao[j] == kh * k + kw ? dyo[j] : 0f;
                        }
            return;
        }
        dx[..(n * h * w * c)].Clear();
        for (int i = 0; i < n; i++)
            for (int r = 0; r < oh; r++)
                for (int q = 0; q < ow; q++)
                {
                    int o = ((i * oh + r) * ow + q) * c;
                    for (int j = 0; j < c; j++)
                    {
                        int a = arg[o + j];
                        dx[((i * h + r * s + a / k) * w + q * s + a % k) * c + j] += dy[o + j];
                    }
                }
    }

    // One vector of channels of one window (stride = k): each tap receives dy where it is the winner, +0 elsewhere; dy
    // and the winners are loaded once for the k×k stores.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void RouteWindow512(float* dx, float* dy, int* arg, int k, nint row, nint c)
    {
        var g = Vector512.Load(dy);
        var at = Vector512.Load(arg);
        for (int kh = 0; kh < k; kh++)
            for (int kw = 0; kw < k; kw++)
                (g & Vector512.Equals(at, Vector512.Create(kh * k + kw)).AsSingle()).Store(dx + kh * row + kw * c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void RouteWindow256(float* dx, float* dy, int* arg, int k, nint row, nint c)
    {
        var g = Vector256.Load(dy);
        var at = Vector256.Load(arg);
        for (int kh = 0; kh < k; kh++)
            for (int kw = 0; kw < k; kw++)
                (g & Vector256.Equals(at, Vector256.Create(kh * k + kw)).AsSingle()).Store(dx + kh * row + kw * c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void RouteWindow128(float* dx, float* dy, int* arg, int k, nint row, nint c)
    {
        var g = Vector128.Load(dy);
        var at = Vector128.Load(arg);
        for (int kh = 0; kh < k; kh++)
            for (int kw = 0; kw < k; kw++)
                (g & Vector128.Equals(at, Vector128.Create(kh * k + kw)).AsSingle()).Store(dx + kh * row + kw * c);
    }
}
