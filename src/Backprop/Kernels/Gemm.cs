namespace Backprop.Kernels;

/// <summary>
/// Single-precision matrix multiply on row-major spans: <c>C[m,n] (+)= op(A)[m,k] · op(B)[k,n]</c>.
/// Knows nothing of tensors or autograd.
/// </summary>
/// <remarks>
/// <para><c>transA</c>: A is stored as [k,m] and read as its transpose; <c>transB</c>: B is stored as [n,k]. Backward
/// passes use these flags (dA = dC·Bᵀ, dB = Aᵀ·dC) so that no transpose is ever materialised.</para>
/// <para>Large products run a GotoBLAS/BLIS-style blocked algorithm (see <see cref="GemmDriver{TK}"/>) around a
/// register-tile micro-kernel, split over up to <see cref="MaxThreads"/> threads; products with few rows take
/// a cheaper path (<see cref="GemmSmall"/>). Even tiny products such as the seeds'
/// 3×4·4×2 take the packed path, which costs about 0.1 µs there. Results do not depend on the thread count.</para>
/// <para>Environment variables, read once at start-up: <c>BACKPROP_GEMM</c> = <c>scalar</c> | <c>v128</c> |
/// <c>v256</c> | <c>v512</c> forces a micro-kernel variant (default: the widest the hardware accelerates; see
/// <see cref="Variant"/>); <c>BACKPROP_THREADS</c> = a positive integer sets <see cref="MaxThreads"/>
/// (default: the processor count).</para>
/// </remarks>
public static class Gemm
{
    // Up to this many rows of C, stream B row by row instead of packing it: packing reads and writes all of B, which
    // costs more than the product itself when B is used by so few rows (measured: [4,784]·[784,256] 36 µs vs 47).
    internal const int SkinnyRows = 4;

    /// <summary>The micro-kernel variant in use: the widest supported, or the one <c>BACKPROP_GEMM</c> names.</summary>
    public static GemmVariant Variant { get; } = GemmSelector.FromEnvironment();

    /// <summary>
    /// Most threads one product (and the library's other parallel kernels) may use (≥ 1): <c>BACKPROP_THREADS</c> or
    /// the processor count, read once at start-up and fixed for the process, so no call can change another's. Small
    /// products always run on the calling thread.
    /// </summary>
    public static int MaxThreads { get; } = GemmSelector.ThreadsFromEnvironment();

    /// <summary>
    /// C[rows, n] (+)= col·B[K, n] on the calling thread, where col [rows, K] is the im2col matrix of the channels-last
    /// images <paramref name="x"/> [N, H, W, C] under <paramref name="g"/> (rows = N·OH·OW, K = KH·KW·C) — a
    /// convolution's forward — with col's strips packed straight from the images (<see cref="Im2ColA"/>) instead of
    /// written out first. The same bits as the packed product <c>Multiply(c, col, b, rows, n, K)</c> on one thread.
    /// </summary>
    internal static unsafe void MultiplyIm2Col(GemmVariant variant, Span<float> c, ReadOnlySpan<float> x, ConvGeometry g,
        ReadOnlySpan<float> b, int n, bool accumulate)
    {
        int m = g.N * g.P, k = g.K;
        CheckIm2Col(nameof(MultiplyIm2Col), c, x, g, b, m, n, k);
        fixed (float* pc = c, px = x, pb = b)
        {
            var a = new Im2ColA(px, g);
            RunPackedA(variant, ref a, pc, pb, m, n, k, accumulate);
        }
    }

    /// <summary>
    /// C[K, n] (+)= colᵀ·B[rows, n] on the calling thread, where col [rows, K] is the im2col matrix of the channels-last
    /// images <paramref name="x"/> [N, H, W, C] under <paramref name="g"/> (rows = N·OH·OW, K = KH·KW·C) — a
    /// convolution's weight gradient — with col's strips packed straight from the images (<see cref="Im2ColTransposedA"/>)
    /// instead of written out first. The same bits as <c>Multiply(c, col, b, K, n, rows, transA: true)</c>.
    /// </summary>
    internal static unsafe void MultiplyIm2ColTransposed(GemmVariant variant, Span<float> c, ReadOnlySpan<float> x, ConvGeometry g,
        ReadOnlySpan<float> b, int n, bool accumulate)
    {
        int m = g.K, k = g.N * g.P;
        CheckIm2Col(nameof(MultiplyIm2ColTransposed), c, x, g, b, m, n, k);
        fixed (float* pc = c, px = x, pb = b)
        {
            var a = new Im2ColTransposedA(px, g);
            RunPackedA(variant, ref a, pc, pb, m, n, k, accumulate);
        }
    }

    // The images, B [k, n] and C [m, n] of an implicit-im2col product hold enough values, with at least one pixel and one output.
    private static void CheckIm2Col(string name, ReadOnlySpan<float> c, ReadOnlySpan<float> x, ConvGeometry g, ReadOnlySpan<float> b,
        int m, int n, int k)
    {
        if (n < 1 || g.N * g.P < 1 || x.Length < (long)g.N * g.ImageSize || b.Length < (long)k * n || c.Length < (long)m * n)
            throw new ArgumentException(
                $"Gemm.{name}: expected images ≥ {(long)g.N * g.ImageSize}, B ≥ {(long)k * n} and C ≥ {(long)m * n} values " +
                $"for {g} and n = {n}, but got {x.Length}, {b.Length} and {c.Length}.");
    }

    // C[m, n] (+)= A·B on the calling thread with the variant's micro-kernel, A's blocks packed by `a`, B row-major [k, n].
    private static unsafe void RunPackedA<TA>(GemmVariant variant, ref TA a, float* c, float* b, int m, int n, int k, bool accumulate)
        where TA : struct, IPackA
    {
        switch (variant)
        {
            case GemmVariant.Vector512:
                GemmDriver<MicroKernel512>.Run(ref a, c, n, b, n, 1, m, n, k, accumulate);
                break;
            case GemmVariant.Vector256:
                GemmDriver<MicroKernel256>.Run(ref a, c, n, b, n, 1, m, n, k, accumulate);
                break;
            case GemmVariant.Vector128:
                GemmDriver<MicroKernel128>.Run(ref a, c, n, b, n, 1, m, n, k, accumulate);
                break;
            default:
                GemmDriver<MicroKernelScalar>.Run(ref a, c, n, b, n, 1, m, n, k, accumulate);
                break;
        }
    }

    /// <summary>C[m,n] = op(A)·op(B), or C += op(A)·op(B) when <paramref name="accumulate"/> is true.</summary>
    public static void Multiply(Span<float> c, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int m, int n, int k,
        bool transA = false, bool transB = false, bool accumulate = false) =>
        Multiply(Variant, MaxThreads, c, a, b, m, n, k, transA, transB, accumulate);

    /// <summary>
    /// <see cref="Multiply(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, bool, bool, bool)"/>
    /// with a chosen variant and thread count; <paramref name="packedOnly"/> skips the few-rows path so that
    /// tests reach the micro-kernel at every size.
    /// </summary>
    internal static void Multiply(GemmVariant variant, int threads, Span<float> c, ReadOnlySpan<float> a,
        ReadOnlySpan<float> b, int m, int n, int k, bool transA, bool transB, bool accumulate, bool packedOnly = false) =>
        Multiply(variant, threads, c, a, b, [], m, n, k, transA, transB, accumulate, packedOnly);

    /// <summary>
    /// C[m,n] = bias + op(A)·op(B): every row of C starts as <paramref name="bias"/> (n floats) and the product is
    /// added, as a linear layer's y = x·Wᵀ + b. The same arithmetic as copying the bias into C and multiplying with
    /// accumulate, but each thread presets only its own block of C, in parallel.
    /// </summary>
    internal static void MultiplyOntoRowBias(Span<float> c, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> bias,
        int m, int n, int k, bool transA = false, bool transB = false) =>
        MultiplyOntoRowBias(Variant, MaxThreads, c, a, b, bias, m, n, k, transA, transB);

    /// <summary><see cref="MultiplyOntoRowBias(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, bool, bool)"/> with a chosen variant and thread count.</summary>
    internal static void MultiplyOntoRowBias(GemmVariant variant, int threads, Span<float> c, ReadOnlySpan<float> a, ReadOnlySpan<float> b,
        ReadOnlySpan<float> bias, int m, int n, int k, bool transA = false, bool transB = false)
    {
        if (bias.Length < n)
            throw new ArgumentException($"Gemm: expected a bias of at least n = {n} values, but got {bias.Length}.");
        Multiply(variant, threads, c, a, b, n == 0 ? [] : bias[..n], m, n, k, transA, transB, accumulate: true);
    }

    // The product, with C preset to a bias row first when `bias` is not empty (then `accumulate` is implied).
    private static unsafe void Multiply(GemmVariant variant, int threads, Span<float> c, ReadOnlySpan<float> a,
        ReadOnlySpan<float> b, ReadOnlySpan<float> bias, int m, int n, int k, bool transA, bool transB, bool accumulate, bool packedOnly = false)
    {
        if (m < 0 || n < 0 || k < 0 || a.Length < (long)m * k || b.Length < (long)k * n || c.Length < (long)m * n)
            throw new ArgumentException(
                $"Gemm: expected m, n, k ≥ 0 and spans A ≥ m·k, B ≥ k·n, C ≥ m·n for m={m}, n={n}, k={k}, " +
                $"but got A {a.Length}, B {b.Length}, C {c.Length}.");
        if (m == 0 || n == 0) return;
        bool skinny = !packedOnly && variant != GemmVariant.Scalar && m <= SkinnyRows && !(transA && transB);
        // The packed path presets the bias inside its parts; the others here.
        if (!bias.IsEmpty && (k == 0 || skinny))
        {
            for (int i = 0; i < m; i++) bias[..n].CopyTo(c.Slice(i * n, n));
            bias = [];
            accumulate = true;
        }
        if (k == 0)
        {
            if (!accumulate) c[..(m * n)].Clear();
            return;
        }
        if (skinny)
        {
            GemmSmall.Skinny(c, a, b, m, n, k, transA, transB, accumulate);
            return;
        }

        // op(A)(i,p) = a[i*rsA + p*csA], op(B)(p,j) = b[p*rsB + j*csB].
        nint rsA = transA ? 1 : k, csA = transA ? m : 1, rsB = transB ? 1 : n, csB = transB ? k : 1;
        fixed (float* pc = c, pa = a, pb = b, pBias = bias)
            Strided(variant, threads, pc, n, pa, rsA, csA, pb, rsB, csB, m, n, k, accumulate, pBias);
    }

    /// <summary>
    /// C[m, n] (+)= op(A)·op(B) on blocks of larger arrays, always through the packed path:
    /// op(A)(i, p) = a[i·rsA + p·csA], op(B)(p, j) = b[p·rsB + j·csB], and row i of C starts at c + i·ldc. E.g. the
    /// columns [j0, j0 + m) of a row-major X [k, width], transposed: a = X + j0, rsA = 1, csA = width.
    /// </summary>
    internal static unsafe void Strided(GemmVariant variant, int threads, float* c, nint ldc, float* a, nint rsA, nint csA,
        float* b, nint rsB, nint csB, int m, int n, int k, bool accumulate, float* bias = null)
    {
        switch (variant)
        {
            case GemmVariant.Vector512:
                GemmParallel.Run<MicroKernel512>(threads, c, ldc, a, rsA, csA, b, rsB, csB, m, n, k, accumulate, bias);
                break;
            case GemmVariant.Vector256:
                GemmParallel.Run<MicroKernel256>(threads, c, ldc, a, rsA, csA, b, rsB, csB, m, n, k, accumulate, bias);
                break;
            case GemmVariant.Vector128:
                GemmParallel.Run<MicroKernel128>(threads, c, ldc, a, rsA, csA, b, rsB, csB, m, n, k, accumulate, bias);
                break;
            default:
                GemmParallel.Run<MicroKernelScalar>(threads, c, ldc, a, rsA, csA, b, rsB, csB, m, n, k, accumulate, bias);
                break;
        }
    }
}
