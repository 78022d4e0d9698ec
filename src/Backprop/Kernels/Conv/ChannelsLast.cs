using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
    /// cache (a plain double loop writes with a stride of <c>rows</c> floats across the whole output). A copy: every
    /// order gives the same result, so there is no width to choose.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TransposeEach(Span<float> y, ReadOnlySpan<float> x, int n, int rows, int cols)
    {
        int size = rows * cols;
        if (x.Length < (long)n * size || y.Length < (long)n * size)
            throw new ArgumentException($"ChannelsLast.TransposeEach: expected x and y ≥ {(long)n * size} floats for {n}×[{rows}, {cols}] but got {x.Length} and {y.Length}.");
        for (int i = 0; i < n; i++)
        {
            var xi = x.Slice(i * size, size);
            var yi = y.Slice(i * size, size);
            if (rows == 1 || cols == 1)
            {
                xi.CopyTo(yi);
                continue;
            }
            for (int r0 = 0; r0 < rows; r0 += TransposeTile)
            {
                int r1 = Math.Min(rows, r0 + TransposeTile);
                for (int c0 = 0; c0 < cols; c0 += TransposeTile)
                {
                    int c1 = Math.Min(cols, c0 + TransposeTile);
                    for (int r = r0; r < r1; r++)
                        for (int c = c0; c < c1; c++) yi[c * rows + r] = xi[r * cols + c];
                }
            }
        }
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MaxPool(Span<float> y, Span<int> arg, ReadOnlySpan<float> x, int n, int h, int w, int c, int k, int s, SimdWidth width)
    {
        int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
        for (int i = 0; i < n; i++)
            for (int r = 0; r < oh; r++)
                for (int q = 0; q < ow; q++)
                {
                    int o = ((i * oh + r) * ow + q) * c;
                    var yo = y.Slice(o, c);
                    var ao = arg.Slice(o, c);
                    x.Slice(((i * h + r * s) * w + q * s) * c, c).CopyTo(yo);
                    ao.Clear();
                    for (int kh = 0; kh < k; kh++)
                        for (int kw = 0; kw < k; kw++)
                        {
                            if (kh == 0 && kw == 0) continue;
                            MaxInto(yo, ao, x.Slice(((i * h + r * s + kh) * w + q * s + kw) * c, c), kh * k + kw, width);
                        }
                }
    }

    // y = max(y, v) element-wise, recording `index` where v wins strictly (so the first maximum stays on ties); a NaN
    // in v never wins, at every width.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxInto(Span<float> y, Span<int> arg, ReadOnlySpan<float> v, int index, SimdWidth width)
    {
        int j = 0, n = y.Length;
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref int ar = ref MemoryMarshal.GetReference(arg);
        ref float vr = ref MemoryMarshal.GetReference(v);
        if (width >= SimdWidth.Vector512) j = MaxInto512(ref yr, ref ar, ref vr, j, n, index);
        if (width >= SimdWidth.Vector256) j = MaxInto256(ref yr, ref ar, ref vr, j, n, index);
        if (width >= SimdWidth.Vector128) j = MaxInto128(ref yr, ref ar, ref vr, j, n, index);
        for (; j < n; j++)
            if (v[j] > y[j])
            {
                y[j] = v[j];
                arg[j] = index;
            }
    }

    private static int MaxInto512(ref float yr, ref int ar, ref float vr, int j, int n, int index)
    {
        var idx = Vector512.Create(index);
        for (; j + 16 <= n; j += 16)
        {
            var yv = Vector512.LoadUnsafe(ref yr, (nuint)j);
            var vv = Vector512.LoadUnsafe(ref vr, (nuint)j);
            var wins = Vector512.GreaterThan(vv, yv);
            Vector512.ConditionalSelect(wins, vv, yv).StoreUnsafe(ref yr, (nuint)j);
            Vector512.ConditionalSelect(wins.AsInt32(), idx, Vector512.LoadUnsafe(ref ar, (nuint)j)).StoreUnsafe(ref ar, (nuint)j);
        }
        return j;
    }

    private static int MaxInto256(ref float yr, ref int ar, ref float vr, int j, int n, int index)
    {
        var idx = Vector256.Create(index);
        for (; j + 8 <= n; j += 8)
        {
            var yv = Vector256.LoadUnsafe(ref yr, (nuint)j);
            var vv = Vector256.LoadUnsafe(ref vr, (nuint)j);
            var wins = Vector256.GreaterThan(vv, yv);
            Vector256.ConditionalSelect(wins, vv, yv).StoreUnsafe(ref yr, (nuint)j);
            Vector256.ConditionalSelect(wins.AsInt32(), idx, Vector256.LoadUnsafe(ref ar, (nuint)j)).StoreUnsafe(ref ar, (nuint)j);
        }
        return j;
    }

    private static int MaxInto128(ref float yr, ref int ar, ref float vr, int j, int n, int index)
    {
        var idx = Vector128.Create(index);
        for (; j + 4 <= n; j += 4)
        {
            var yv = Vector128.LoadUnsafe(ref yr, (nuint)j);
            var vv = Vector128.LoadUnsafe(ref vr, (nuint)j);
            var wins = Vector128.GreaterThan(vv, yv);
            Vector128.ConditionalSelect(wins, vv, yv).StoreUnsafe(ref yr, (nuint)j);
            Vector128.ConditionalSelect(wins.AsInt32(), idx, Vector128.LoadUnsafe(ref ar, (nuint)j)).StoreUnsafe(ref ar, (nuint)j);
        }
        return j;
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
    internal static void MaxPoolBackward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<int> arg, int n, int h, int w, int c, int k, int s, SimdWidth width)
    {
        int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
        if (dx.Length < (long)n * h * w * c || dy.Length < (long)n * oh * ow * c || arg.Length < dy.Length)
            throw new ArgumentException($"ChannelsLast.MaxPoolBackward: expected dx ≥ {(long)n * h * w * c} and dy, arg ≥ {(long)n * oh * ow * c} values but got {dx.Length}, {dy.Length}, {arg.Length}.");
        if (s == k)
        {
            if (oh * k != h || ow * k != w) dx[..(n * h * w * c)].Clear();   // rows or columns no window covers
            ref float dxr = ref MemoryMarshal.GetReference(dx);
            ref float dyr = ref MemoryMarshal.GetReference(dy);
            ref int ar = ref MemoryMarshal.GetReference(arg);
            for (int i = 0; i < n; i++)
                for (int r = 0; r < oh; r++)
                    for (int q = 0; q < ow; q++)
                    {
                        int o = ((i * oh + r) * ow + q) * c;
                        ref float dyo = ref Unsafe.Add(ref dyr, o);
                        ref int ao = ref Unsafe.Add(ref ar, o);
                        for (int kh = 0; kh < k; kh++)
                            for (int kw = 0; kw < k; kw++)
                            {
                                int index = kh * k + kw, j = 0;
                                ref float dxa = ref Unsafe.Add(ref dxr, ((i * h + r * k + kh) * w + q * k + kw) * c);
                                if (width >= SimdWidth.Vector512) j = SelectWinner512(ref dxa, ref dyo, ref ao, j, c, index);
                                if (width >= SimdWidth.Vector256) j = SelectWinner256(ref dxa, ref dyo, ref ao, j, c, index);
                                if (width >= SimdWidth.Vector128) j = SelectWinner128(ref dxa, ref dyo, ref ao, j, c, index);
                                for (; j < c; j++) Unsafe.Add(ref dxa, j) = Unsafe.Add(ref ao, j) == index ? Unsafe.Add(ref dyo, j) : 0f;
                            }
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

    private static int SelectWinner512(ref float dxr, ref float dyr, ref int ar, int j, int c, int index)
    {
        var idx = Vector512.Create(index);
        for (; j + 16 <= c; j += 16)
        {
            var hit = Vector512.Equals(Vector512.LoadUnsafe(ref ar, (nuint)j), idx).AsSingle();
            (Vector512.LoadUnsafe(ref dyr, (nuint)j) & hit).StoreUnsafe(ref dxr, (nuint)j);
        }
        return j;
    }

    private static int SelectWinner256(ref float dxr, ref float dyr, ref int ar, int j, int c, int index)
    {
        var idx = Vector256.Create(index);
        for (; j + 8 <= c; j += 8)
        {
            var hit = Vector256.Equals(Vector256.LoadUnsafe(ref ar, (nuint)j), idx).AsSingle();
            (Vector256.LoadUnsafe(ref dyr, (nuint)j) & hit).StoreUnsafe(ref dxr, (nuint)j);
        }
        return j;
    }

    private static int SelectWinner128(ref float dxr, ref float dyr, ref int ar, int j, int c, int index)
    {
        var idx = Vector128.Create(index);
        for (; j + 4 <= c; j += 4)
        {
            var hit = Vector128.Equals(Vector128.LoadUnsafe(ref ar, (nuint)j), idx).AsSingle();
            (Vector128.LoadUnsafe(ref dyr, (nuint)j) & hit).StoreUnsafe(ref dxr, (nuint)j);
        }
        return j;
    }
}
