namespace Backprop.Kernels;

/// <summary>
/// A GEMM register-tile micro-kernel: <c>C[MR,NR] (+)= Ã[MR,kc] · B̃[kc,NR]</c> on packed panels.
/// Implemented by structs so that the generic driver is specialised (and MR, NR become constants) per variant.
/// </summary>
/// <remarks>
/// Packed layouts (see <see cref="GemmPacking"/>): Ã holds column p of the A strip at <c>a[p*MR .. p*MR+MR)</c>,
/// B̃ holds row p of the B strip at <c>b[p*NR .. p*NR+NR)</c>; both zero-padded, so the kernel never sees an edge.
/// A full-width strip of a row-major B may also be read in place, with its row stride as <c>ldb</c>.
/// Every variant accumulates each C element as a chain of fused multiply-adds in increasing p, so all variants give
/// bitwise identical results for the same blocking.
/// </remarks>
internal interface IMicroKernel
{
    /// <summary>Rows of the register tile.</summary>
    static abstract int MR { get; }

    /// <summary>Columns of the register tile.</summary>
    static abstract int NR { get; }

    /// <summary>Whether the instruction set this kernel is written for runs in hardware here.</summary>
    static abstract bool IsSupported { get; }

    /// <summary>
    /// C[r, j] = Σ_p a[p*MR + r] · b[p*ldb + j] for r &lt; MR, j &lt; NR, p &lt; kc; C row r starts at <c>c + r*ldc</c>.
    /// Overwrites C, or adds to it when <paramref name="accumulate"/> is true. B's rows are <paramref name="ldb"/>
    /// apart: NR for a packed B̃ strip, or the row stride of an unpacked row-major B read in place.
    /// </summary>
    static abstract unsafe void Run(int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool accumulate);

    /// <summary>
    /// Rows of the short tile (at most <see cref="MR"/>; equal: there is none): the driver covers the rows a
    /// product's height leaves over MR with these rather than pad a whole tile (32 rows: 6, 6, 6, 6, 4, 4 instead of
    /// 6, 6, 6, 6, 6 and 2 of 6).
    /// </summary>
    static abstract int MRShort { get; }

    /// <summary>
    /// <see cref="Run"/> for a tile of <see cref="MRShort"/> rows, from Ã packed in strips of MRShort rows: the same
    /// chain of fused multiply-adds for each element, so the same bits.
    /// </summary>
    static abstract unsafe void RunShort(int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool accumulate);
}
