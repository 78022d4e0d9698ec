using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>
/// LayerNorm/RMSNorm kernels split across cores (rows for y and ∂L/∂x, columns for ∂L/∂γ and ∂L/∂β) give the bits
/// of the same kernels run one row or one part at a time; the values themselves are checked against PyTorch and
/// finite differences by the zoo and sequence-layer tests.
/// </summary>
public sealed class LayerNormKernelTests
{
    // [rows, d]: large enough to split in two (rows·d ≥ 64 K floats), some with a d that is not a multiple of the column granule.
    public static TheoryData<int, int, bool> Shapes() => new()
    {
        { 768, 128, true }, { 600, 200, true }, { 520, 131, true }, { 768, 128, false }, { 600, 131, false },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void SplitForwardEqualsOneRowAtATime(int rows, int d, bool affine)
    {
        var x = GemmReference.Random(rows * d, 1);
        var gamma = affine ? GemmReference.Random(d, 2) : [];
        var beta = affine ? GemmReference.Random(d, 3) : [];
        var (y, mean, rstd) = (new float[rows * d], new float[rows], new float[rows]);
        LayerNormKernels.Forward(y, mean, rstd, x, gamma, beta, rows, d, 1e-5f);

        var (y1, mean1, rstd1) = (new float[d], new float[1], new float[1]);
        for (int r = 0; r < rows; r++)
        {
            LayerNormKernels.Forward(y1, mean1, rstd1, x.AsSpan(r * d, d), gamma, beta, 1, d, 1e-5f);
            Assert.True(y1.AsSpan().SequenceEqual(y.AsSpan(r * d, d)), $"row {r} differs");
            Assert.Equal(mean1[0], mean[r]);
            Assert.Equal(rstd1[0], rstd[r]);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void SplitBackwardEqualsOnePart(int rows, int d, bool centre)
    {
        Assert.Equal(Math.Min(2, Gemm.MaxThreads), Math.Min(2, LayerNormKernels.Parts(rows, d)));
        var x = GemmReference.Random(rows * d, 4);
        var g = GemmReference.Random(rows * d, 5);
        var gamma = GemmReference.Random(d, 6);
        var (y, mean, rstd) = (new float[rows * d], new float[rows], new float[rows]);
        if (centre) LayerNormKernels.Forward(y, mean, rstd, x, gamma, [], rows, d, 1e-5f);
        else LayerNormKernels.RmsForward(y, rstd, x, gamma, rows, d, 1e-5f);
        ReadOnlySpan<float> mu = centre ? mean : [];

        // Scratch for one thread (2·d) forces the single-thread path; BackwardScratchLength lets it split.
        var (dx1, dg1, db1) = (new float[rows * d], GemmReference.Random(d, 7), GemmReference.Random(d, 8));
        var (dxN, dgN, dbN) = (new float[rows * d], (float[])dg1.Clone(), (float[])db1.Clone());
        LayerNormKernels.Backward(dx1, dg1, db1, g, x, mu, rstd, gamma, rows, d, new float[2 * d], centre);
        LayerNormKernels.Backward(dxN, dgN, dbN, g, x, mu, rstd, gamma, rows, d, new float[LayerNormKernels.BackwardScratchLength(rows, d)], centre);
        Assert.True(dx1.AsSpan().SequenceEqual(dxN), "dx differs when split");
        Assert.True(dg1.AsSpan().SequenceEqual(dgN), "dγ differs when split");
        Assert.True(db1.AsSpan().SequenceEqual(dbN), "dβ differs when split");

        // Without an input gradient, or without γ's: the other outputs are unchanged.
        var (dgOnly, dbOnly) = (new float[d], new float[d]);
        LayerNormKernels.Backward([], dgOnly, [], g, x, mu, rstd, gamma, rows, d, new float[LayerNormKernels.BackwardScratchLength(rows, d)], centre);
        LayerNormKernels.Backward([], [], dbOnly, g, x, mu, rstd, gamma, rows, d, new float[LayerNormKernels.BackwardScratchLength(rows, d)], centre);
        var (dgRef, dbRef) = (new float[d], new float[d]);
        LayerNormKernels.Backward([], dgRef, dbRef, g, x, mu, rstd, gamma, rows, d, new float[2 * d], centre);
        Assert.True(dgRef.AsSpan().SequenceEqual(dgOnly));
        Assert.True(dbRef.AsSpan().SequenceEqual(dbOnly));
    }

    [Fact]
    public void SmallNormsStayOnTheCallingThread()
    {
        Assert.Equal(1, LayerNormKernels.Parts(64, 128));
        Assert.Equal(1, LayerNormKernels.Parts(1, 1 << 20));
        Assert.Equal(Math.Min(Gemm.MaxThreads, 24), LayerNormKernels.Parts(768, 1024));
    }
}
