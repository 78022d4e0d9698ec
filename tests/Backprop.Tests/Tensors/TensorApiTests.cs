namespace Backprop.Tests.Tensors;

/// <summary>
/// The wider tensor API beyond its PyTorch reference values (TensorApiReferenceTests): integer and mask results,
/// views, and the errors that name the op and the shapes.
/// </summary>
public sealed class TensorApiTests
{
    private static Tensor M(float[] values, params int[] shape) => Tensor.FromArray(values, shape);

    [Fact]
    public void SortAndTopKReturnIntegerIndicesThatGatherAndIndexSelectTake()
    {
        var x = M([3f, 1f, 2f, 9f, 7f, 8f], 2, 3);
        var (values, indices) = x.Sort(axis: 1);
        Assert.Equal([1f, 2f, 3f, 7f, 8f, 9f], values.ToArray());
        Assert.Equal([1, 2, 0, 1, 2, 0], indices.ToArray());
        Assert.Equal(values.ToArray(), x.Gather(1, indices).ToArray());
        var (top, where) = x.TopK(1, axis: 1);
        Assert.Equal([3f, 9f], top.ToArray());
        Assert.Equal([0, 0], where.ToArray());
        Assert.Equal([2f, 3f, 8f, 9f], x.IndexSelect(1, 2, 0).ToArray());
    }

    [Fact]
    public void SortIsStableAndPutsNaNLastAscendingFirstDescending()
    {
        var x = M([2f, float.NaN, 1f, 2f]);
        Assert.Equal([2, 0, 3, 1], x.Sort().Indices.ToArray());
        Assert.Equal([1, 0, 3, 2], x.Sort(descending: true).Indices.ToArray());
    }

    [Fact]
    public void ComparisonsBroadcastAndGiveMasksThatWhereAndMaskedFillUse()
    {
        var x = M([1f, 5f, 3f, -2f], 2, 2);
        var big = x.Gt(M([2f, 0f]));
        Assert.Equal([false, true, true, false], big.ToArray());
        Assert.Equal(2, big.Count());
        Assert.Equal([0f, 5f, 3f, 0f], x.MaskedFill(big.Not(), 0f).ToArray());
        Assert.Equal([1f, 5f, 3f, -2f], Tensor.Where(x.Ge(0f).Or(x.Lt(0f)), x, Tensor.Scalar(9f)).ToArray());
        Assert.Equal([true, false, false, false], x.Eq(1f).ToArray());
        Assert.Equal([0f, 1f, 1f, 0f], big.ToFloat().ToArray());
    }

    [Fact]
    public void SqueezeAndUnsqueezeAreViewsThatShareStorage()
    {
        var x = M([1f, 2f, 3f], 3, 1);
        var s = x.Squeeze(1);
        Assert.Equal([3], s.Shape);
        x.AsSpan()[0] = 7f;
        Assert.Equal(7f, s.ToArray()[0]);
        Assert.Equal([1, 3, 1], x.Squeeze().Unsqueeze(0).Unsqueeze(-1).Shape);
    }

    [Fact]
    public void NarrowAndSelectAreCopies()
    {
        var x = M([1f, 2f, 3f, 4f], 2, 2);
        var column = x.Select(1, 0);
        x.AsSpan()[0] = 9f;
        Assert.Equal([1f, 3f], column.ToArray());
    }

    [Fact]
    public void ChunkGivesFewerPiecesWhenTheLengthDividesThatWay()
    {
        // PyTorch: torch.chunk(torch.arange(6), 4) gives 3 pieces of 2.
        var pieces = M([0f, 1f, 2f, 3f, 4f, 5f]).Chunk(4);
        Assert.Equal(3, pieces.Length);
        Assert.All(pieces, p => Assert.Equal([2], p.Shape));
    }

    [Fact]
    public void IntTensorFromFloatLabelsRefusesFractions()
    {
        Assert.Equal([2, 0, 1], IntTensor.FromTensor(M([2f, 0f, 1f])).ToArray());
        var e = Assert.Throws<ArgumentException>(() => IntTensor.FromTensor(M([1f, 2.5f])));
        Assert.Equal("IntTensor.FromTensor: element 1 is 2.5, not a whole number in the int range.", e.Message);
    }

    [Fact]
    public void ErrorsNameTheOpAndTheShapes()
    {
        Assert.Equal("Concat along axis 1: tensor 1 has shape [3,2] but tensor 0 has [2,2]; every dimension but the axis must match.",
            Assert.Throws<ShapeMismatchException>(() => Tensor.Concat([Tensor.Zeros(2, 2), Tensor.Zeros(3, 2)], 1)).Message);
        Assert.Equal("Expand: cannot expand [2,3] to [4,3]: dimension 0 has length 2, which is neither 1 nor 4.",
            Assert.Throws<ShapeMismatchException>(() => Tensor.Zeros(2, 3).Expand(4, 3)).Message);
        Assert.Equal("Gather: index 3 is out of range for axis 1 of length 3 (shape [2,3]).",
            Assert.Throws<IndexOutOfRangeException>(() => Tensor.Zeros(2, 3).Gather(1, IntTensor.FromArray([0, 3], 2, 1))).Message);
        Assert.Equal("Einsum \"ij,jk->ik\": subscript 'j' is 3 long in one operand but 4 in operand 1.",
            Assert.Throws<ArgumentException>(() => Tensor.Einsum("ij,jk->ik", Tensor.Zeros(2, 3), Tensor.Zeros(4, 2))).Message);
        Assert.Equal("Einsum \"ii->\": operand 0 repeats a subscript in 'ii' (diagonals are not supported).",
            Assert.Throws<ArgumentException>(() => Tensor.Einsum("ii->", Tensor.Zeros(2, 2))).Message);
        Assert.Equal("Squeeze: axis 0 of [2,1] has length 2, not 1.",
            Assert.Throws<ShapeMismatchException>(() => Tensor.Zeros(2, 1).Squeeze(0)).Message);
        Assert.Equal("Var: axis 0 has 1 element(s), too few for correction 1 (the divisor n − correction must be positive).",
            Assert.Throws<InvalidOperationException>(() => Tensor.Zeros(1, 3).Var(0)).Message);
        Assert.Equal("matmul [2,2,3,4] · [3,4,5] batch dimensions: shapes [2,2] and [3] cannot be broadcast together (dimension 1: 2 vs 3).",
            Assert.Throws<ShapeMismatchException>(() => Tensor.Zeros(2, 2, 3, 4).MatMul(Tensor.Zeros(3, 4, 5))).Message);
    }

    [Fact]
    public void IndexingAMatrixWithOneIndexPointsToSelect()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3)[0]);
        Assert.Equal("index has 1 components but the tensor has rank 2 (shape [2,3]); for a slice (PyTorch's x[i]) use Select(0, i), or Narrow for a range.", e.Message);
    }

    [Fact]
    public void LogSumExpOfInfinitiesIsInfinityNotNaN()
    {
        Assert.Equal([float.PositiveInfinity], M([float.PositiveInfinity, 1f], 1, 2).LogSumExp(1).ToArray());
        Assert.Equal([float.NegativeInfinity], M([float.NegativeInfinity, float.NegativeInfinity], 1, 2).LogSumExp(1).ToArray());
    }
}
