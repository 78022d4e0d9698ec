namespace Backprop.Kernels;

/// <summary>
/// Where the GEMM driver's A operand comes from: it packs any block A[i0 .. i0+count, p0 .. p0+kc) into strips of
/// <c>w</c> rows (column p of a strip at <c>dst[p·w .. p·w+w)</c>, rows past count zero; see <see cref="GemmPacking"/>).
/// A struct, so the driver is specialised per source: a strided matrix (<see cref="StridedA"/>), or one that is never
/// written out, such as the transposed im2col matrix of a batch of images (<see cref="Im2ColTransposedA"/>).
/// </summary>
internal interface IPackA
{
    /// <summary>Packs A[i0 .. i0+count, p0 .. p0+kc) into strips of <paramref name="w"/> rows at <paramref name="dst"/>.</summary>
    unsafe void Pack(float* dst, int i0, int p0, int count, int kc, int w);
}

/// <summary>A stored matrix: A(i, p) = <c>a[i·rs + p·cs]</c> (rs = 1 for a transposed A).</summary>
internal readonly unsafe struct StridedA(float* a, nint rs, nint cs) : IPackA
{
    public void Pack(float* dst, int i0, int p0, int count, int kc, int w) =>
        GemmPacking.Pack(dst, a + i0 * rs + p0 * cs, rs, cs, count, kc, w);
}
