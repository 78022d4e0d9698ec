using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// The GotoBLAS/BLIS loop nest around a micro-kernel, for one thread's share of C:
/// <code>
/// for jc (nc columns of C)              B̃ block kc×nc: shared by all of A's rows, lives in L3
///   for pc (kc of the k dimension)       pack B̃
///     for ic (mc rows of C)              pack Ã block mc×kc: lives in L2
///       for jr (NR columns)              B̃ strip kc×NR: reused by every ir, from L1/L2
///         for ir (MR rows)               Ã strip MR×kc, from L2
///           micro-kernel: C[MR,NR] (+)= Ã strip · B̃ strip   (registers)
/// </code>
/// </summary>
/// <remarks>
/// Operands are addressed by strides so that one driver serves all four transpose combinations:
/// op(A)(i,p) = <c>a[i*rsA + p*csA]</c>, op(B)(p,j) = <c>b[p*rsB + j*csB]</c>, C(i,j) = <c>c[i*ldc + j]</c>.
/// The k dimension is cut into equal blocks that depend only on k, so each C element sees the same sequence of
/// operations whatever the thread split or the position of its tile: results are deterministic.
/// </remarks>
internal static unsafe class GemmDriver<TK> where TK : struct, IMicroKernel
{
    // Block sizes, tuned on Zen 5 (L1d 48 KB, L2 1 MB) with the 14×32 kernel: an Ã strip (14·kc·4 = 28 KB) stays
    // in L1 for its NR-wide pass; the Ã block (mc·kc·4 = 512 KB) and the current B̃ strip (kc·NR·4 = 64 KB) stream from
    // L2, whose bandwidth far exceeds the kernel's needs (≈16 flops per byte). A larger kc amortises the C tile's
    // load/store over more FMAs: kc = 512 measured ~5 % faster than 256 at n = 2048. nc bounds the B̃ block (L3).
    internal const int KC = 512;

    // Up to this many rows of C, a row-major B is read in place rather than packed (see Run).
    private const int DirectBRows = 128;
    private const int MC = 256;
    private const int NC = 4096;

    /// <summary>Rows of the register tile (the split granule for threads along m).</summary>
    public static int MR => TK.MR;

    /// <summary>Columns of the register tile (the split granule for threads along n).</summary>
    public static int NR => TK.NR;

    /// <summary>C[m,n] (+)= op(A)[m,k]·op(B)[k,n] on the calling thread; k ≥ 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* c, nint ldc, float* a, nint rsA, nint csA, float* b, nint rsB, nint csB,
        int m, int n, int k, bool accumulate)
    {
        var strided = new StridedA(a, rsA, csA);
        Run(ref strided, c, ldc, b, rsB, csB, m, n, k, accumulate);
    }

    /// <summary>
    /// C[m,n] (+)= A[m,k]·op(B)[k,n] on the calling thread, with A's blocks packed by <paramref name="a"/> (a strided
    /// matrix, or a matrix that exists only implicitly, such as an image's im2col columns); k ≥ 1.
    /// </summary>
    /// <remarks>The edge tile is written whole by the kernel before it is read, so it is not zeroed first
    /// (SkipLocalsInit): attention calls this thousands of times a step on [64, 64] products.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    public static void Run<TA>(ref TA a, float* c, nint ldc, float* b, nint rsB, nint csB,
        int m, int n, int k, bool accumulate) where TA : struct, IPackA
    {
        int kcMax = KBlock(k);
        int mBlocks = (m + MC - 1) / MC;
        int mcMax = RoundUp((m + mBlocks - 1) / mBlocks, TK.MR);
        int ncMax = Math.Min(NC, RoundUp(n, TK.NR));
        float* ap = GemmBuffers.A(mcMax * kcMax);
        float* bp = GemmBuffers.B(ncMax * kcMax);
        float* edge = stackalloc float[TK.MR * TK.NR];

        // A row-major B (csB = 1) feeding only a few rows of A (a batch of 64 through a dense layer) is read in
        // place: packing it would cost a full extra pass over B (800 KB for a 784×256 weight) for a handful of
        // micro-tiles per strip. With more rows each strip is reused often enough that the packed, contiguous copy
        // wins (measured: in-place B at m = 256, n = k = 512 halves the two-thread rate). Only a partial last strip,
        // which the kernel would read past, is packed.
        bool directB = csB == 1 && m <= DirectBRows;
        for (int jc = 0; jc < n; jc += ncMax)
        {
            int nc = Math.Min(ncMax, n - jc);
            int fullStrips = directB ? nc / TK.NR * TK.NR : 0;
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                bool add = accumulate || pc > 0;
                float* bBlock = b + pc * rsB + jc * csB;
                if (fullStrips < nc)
                    GemmPacking.Pack(bp + (nint)fullStrips * kc, bBlock + fullStrips * csB, csB, rsB, nc - fullStrips, kc, TK.NR);
                for (int ic = 0; ic < m; ic += mcMax)
                {
                    int mc = Math.Min(mcMax, m - ic);
                    // Rows [0, tall) in strips of MR, the rest in strips of MRShort right after them.
                    int tall = TallRows(mc);
                    a.Pack(ap, ic, pc, tall, kc, TK.MR);
                    if (tall < mc) a.Pack(ap + (nint)RoundUp(tall, TK.MR) * kc, ic + tall, pc, mc - tall, kc, TK.MRShort);
                    Macro(ap, bp, bBlock, rsB, fullStrips, c + ic * ldc + jc, ldc, mc, tall, nc, kc, add, edge);
                }
            }
        }
    }

    /// <summary>
    /// Of <paramref name="mc"/> rows, how many the MR-row tiles take (the last one padded when they take them all); the
    /// rest go to MRShort-row tiles. Picks the cheapest cover, counting each tile's rows as its cost (the kernels run
    /// their FMAs at one rate): 32 rows on 6×16 tiles are 6·4 + 4·2 (32) rather than 6·5 + 2 of 6 (36).
    /// </summary>
    public static int TallRows(int mc)
    {
        int mr = TK.MR, s = TK.MRShort, whole = mc / mr, rest = mc % mr;
        if (rest == 0 || s >= mr) return mc;
        int padded = (whole + 1) * mr;
        int shortOnly = whole * mr + RoundUp(rest, s);                                       // the rest in short tiles
        int lastToo = whole >= 1 ? (whole - 1) * mr + RoundUp(rest + mr, s) : int.MaxValue;  // and the last tall tile's rows
        if (padded <= shortOnly && padded <= lastToo) return mc;
        return shortOnly <= lastToo ? whole * mr : (whole - 1) * mr;
    }

    /// <summary>The kc-block length used for depth k: ⌈k / ⌈k/KC⌉⌉, so blocks are equal rather than KC plus a stub.</summary>
    public static int KBlock(int k)
    {
        int blocks = (k + KC - 1) / KC;
        return (k + blocks - 1) / blocks;
    }

    // C[mc,nc] (+)= Ã[mc,kc]·B̃[kc,nc]: rows [0, tall) by MR-row tiles, the rest by MRShort-row tiles (Ã packed so,
    // the short strips from RoundUp(tall, MR)). Strips jr < direct are read in place from B (row stride rsB); the rest
    // from the packed B̃. Edge tiles are computed whole into `edge` (the padding is zeros) and the valid part copied
    // out, so edge elements get exactly the arithmetic interior ones do.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Macro(float* ap, float* bp, float* b, nint rsB, int direct, float* c, nint ldc, int mc, int tall, int nc, int kc,
        bool add, float* edge)
    {
        float* shortStrips = ap + (nint)RoundUp(tall, TK.MR) * kc;
        for (int jr = 0; jr < nc; jr += TK.NR)
        {
            int nr = Math.Min(TK.NR, nc - jr);
            bool inPlace = jr < direct;
            float* bs = inPlace ? b + jr : bp + (nint)jr * kc;
            nint ldb = inPlace ? rsB : TK.NR;
            for (int ir = 0; ir < tall; ir += TK.MR)
                Tile(false, Math.Min(TK.MR, tall - ir), nr, kc, ap + (nint)ir * kc, bs, ldb, c + ir * ldc + jr, ldc, add, edge);
            for (int ir = tall; ir < mc; ir += TK.MRShort)
                Tile(true, Math.Min(TK.MRShort, mc - ir), nr, kc, shortStrips + (nint)(ir - tall) * kc, bs, ldb, c + ir * ldc + jr, ldc, add, edge);
        }
    }

    // One tall or short register tile of `rows` × nr at ct: a whole one straight into C, else computed whole into
    // `edge` and its valid part copied out.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile(bool isShort, int rows, int nr, int kc, float* aStrip, float* bs, nint ldb, float* ct, nint ldc, bool add, float* edge)
    {
        bool whole = rows == (isShort ? TK.MRShort : TK.MR) && nr == TK.NR;
        float* target = whole ? ct : edge;
        nint ldt = whole ? ldc : TK.NR;
        if (isShort) TK.RunShort(kc, aStrip, bs, ldb, target, ldt, whole && add);
        else TK.Run(kc, aStrip, bs, ldb, target, ldt, whole && add);
        if (whole) return;
        for (int r = 0; r < rows; r++) CopyOut(ct + r * ldc, edge + r * TK.NR, nr, add);
    }

    // The valid nr floats of an edge tile's row: c = e, or c += e. A product with few output columns (a decoder's 1, 9
    // or 16) is all edge tiles, so this copy runs vectors, not one float at a time; each float gets the same single
    // add either way.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyOut(float* c, float* e, int nr, bool add)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; j + 8 <= nr; j += 8)
                Vector256.Store(add ? Vector256.Load(c + j) + Vector256.Load(e + j) : Vector256.Load(e + j), c + j);
        if (Vector128.IsHardwareAccelerated)
            for (; j + 4 <= nr; j += 4)
                Vector128.Store(add ? Vector128.Load(c + j) + Vector128.Load(e + j) : Vector128.Load(e + j), c + j);
        for (; j < nr; j++) c[j] = add ? c[j] + e[j] : e[j];
    }

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;
}
