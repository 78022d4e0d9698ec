namespace Backprop.Tests.Autograd;

/// <summary>How the engine moves gradients: broadcasting, explicit upstream gradients, reuse, detaching, views, errors.</summary>
public sealed class EngineBehaviourTests
{
    private static Tensor T(float[] values, params int[] shape) => Tensor.FromArray(values, shape);

    [Fact]
    public void BroadcastRowGetsTheColumnSumsOfTheGradient()
    {
        var a = Tensor.RandomNormal([3, 4], 1).RequireGrad();
        var b = T([1f, 2f, 3f, 4f], 4).RequireGrad();
        var g = T([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 3, 4);
        (a + b).Backward(g);
        Assert.Equal([3, 4], a.Grad!.Shape);
        Assert.Equal(g.ToArray(), a.Grad.ToArray());
        Assert.Equal([4], b.Grad!.Shape);
        Assert.Equal([15f, 18f, 21f, 24f], b.Grad.ToArray());
    }

    [Fact]
    public void OuterBroadcastSumsOverTheRepeatedDimensionOfEachSide()
    {
        // c[i,j] = a[i,0]·b[0,j]: ∂L/∂a[i] = Σⱼ g[i,j]·b[j], ∂L/∂b[j] = Σᵢ g[i,j]·a[i].
        var a = T([1f, 2f, 3f], 3, 1).RequireGrad();
        var b = T([1f, -1f, 2f, 0.5f], 1, 4).RequireGrad();
        (a * b).Backward(Tensor.Ones(3, 4));
        Assert.Equal([3, 1], a.Grad!.Shape);
        Assert.Equal([2.5f, 2.5f, 2.5f], a.Grad.ToArray());
        Assert.Equal([1, 4], b.Grad!.Shape);
        Assert.Equal([6f, 6f, 6f, 6f], b.Grad.ToArray());
    }

    [Fact]
    public void ScalarTensorOperandGetsTheSumOfAllGradients()
    {
        var s = Tensor.Scalar(3f).RequireGrad();
        var x = T([1f, 2f, 3f, 4f, 5f, 6f], 2, 3).RequireGrad();
        (s * x).Backward(Tensor.Ones(2, 3));
        Assert.Empty(s.Grad!.Shape);
        Assert.Equal(21f, s.Grad.Item());
        Assert.Equal(Enumerable.Repeat(3f, 6), x.Grad!.ToArray());
    }

    [Fact]
    public void BackwardWithAnExplicitGradientOnANonScalar()
    {
        var x = T([1f, -2f, 3f], 3).RequireGrad();
        var y = (x * x).RetainGrad();   // ∂y/∂x = 2x elementwise
        y.Backward(T([1f, 10f, 100f], 3));
        Assert.Equal([2f, -40f, 600f], x.Grad!.ToArray());
        Assert.Equal([1f, 10f, 100f], y.Grad!.ToArray());
    }

    [Fact]
    public void BackwardWithoutGradientOnANonScalarSaysWhatToDo()
    {
        var y = Tensor.Ones(2, 2).RequireGrad() * 2f;
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("[2,2]", e.Message);
        Assert.Contains("Backward(gradient)", e.Message);
    }

    [Fact]
    public void BackwardWithAGradientOfTheWrongShapeNamesBothShapes()
    {
        var y = Tensor.Ones(2, 3).RequireGrad() * 2f;
        var e = Assert.Throws<ShapeMismatchException>(() => y.Backward(Tensor.Ones(3, 2)));
        Assert.Contains("[3,2]", e.Message);
        Assert.Contains("[2,3]", e.Message);
    }

    [Fact]
    public void TensorUsedTwiceInOneOpAccumulatesBothContributions()
    {
        var x = T([3f, -0.5f], 2).RequireGrad();
        (x * x).Sum().Backward();
        Assert.Equal([6f, -1f], x.Grad!.ToArray());
    }

    [Fact]
    public void SquareMatrixTimesItselfGetsBothMatmulGradients()
    {
        // L = Σ X·X: ∂L/∂X = 1·Xᵀ + Xᵀ·1 (as the left and as the right factor).
        var x = T([1f, 2f, 3f, 4f], 2, 2).RequireGrad();
        x.MatMul(x).Sum().Backward();
        // 1·Xᵀ rows: [1+2, 3+4] each row; Xᵀ·1 columns: [1+3, 2+4] each column.
        Assert.Equal([3f + 4f, 7f + 4f, 3f + 6f, 7f + 6f], x.Grad!.ToArray());
    }

    [Fact]
    public void DiamondGraphAddsTheGradientsOfBothPaths()
    {
        // a → b = 2a, a → c = a², d = b·c = 2a³: ∂d/∂a = 6a² = 24 at a = 2.
        var a = Tensor.Scalar(2f).RequireGrad();
        var b = (a * 2f).RetainGrad();
        var c = (a * a).RetainGrad();
        var d = b * c;
        d.Backward();
        Assert.Equal(16f, d.Item());
        Assert.Equal(24f, a.Grad!.Item());
        Assert.Equal(4f, b.Grad!.Item());   // ∂d/∂b = c
        Assert.Equal(4f, c.Grad!.Item());   // ∂d/∂c = b
    }

    [Fact]
    public void IntermediateGradientsHoldTheLatestPassWhileLeavesAccumulate()
    {
        var x = Tensor.Scalar(3f).RequireGrad();
        var y = (x * 2f).RetainGrad();
        var z = y * y;
        z.Backward();
        z.Backward();
        Assert.Equal(2 * 24f, x.Grad!.Item());   // ∂z/∂x = 8x = 24 per pass
        Assert.Equal(12f, y.Grad!.Item());       // ∂z/∂y = 2y, not accumulated
    }

    [Fact]
    public void IntermediateGradientsAreDroppedAfterUseUnlessRetained()
    {
        // As PyTorch: a non-leaf's gradient is not kept (it would double the memory of a step) unless retain_grad.
        var x = Tensor.Scalar(3f).RequireGrad();
        var y = x * 2f;
        var kept = (y + 1f).RetainGrad();
        var z = kept * y;   // (2x + 1)·2x: ∂z/∂x = 8x + 2 = 26
        z.Backward();
        Assert.Equal(26f, x.Grad!.Item());
        Assert.Null(y.Grad);
        Assert.Null(z.Grad);
        Assert.True(kept.RetainsGrad);
        Assert.Equal(6f, kept.Grad!.Item());   // ∂z/∂kept = y = 6
    }

    [Fact]
    public void DetachStopsTheGradientButSharesStorage()
    {
        var x = T([2f, -3f], 2).RequireGrad();
        var frozen = x.Detach();
        Assert.False(frozen.RequiresGrad);
        Assert.True(frozen.IsLeaf);
        (x * frozen).Sum().Backward();
        Assert.Equal([2f, -3f], x.Grad!.ToArray());   // only the live factor: x, not 2x
        Assert.Null(frozen.Grad);
        x.AsSpan()[0] = 5f;
        Assert.Equal(5f, frozen[0]);
    }

    [Fact]
    public void ReshapeSharesStorageAndRoutesTheGradientBackInTheOriginalShape()
    {
        var x = Tensor.Arange(6).RequireGrad();
        var m = x.Reshape(2, 3);
        x.AsSpan()[4] = 40f;
        Assert.Equal(40f, m[1, 1]);
        m[0, 2] = -2f;
        Assert.Equal(-2f, x[2]);
        m.Backward(T([1f, 2f, 3f, 4f, 5f, 6f], 2, 3));
        Assert.Equal([6], x.Grad!.Shape);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], x.Grad.ToArray());
    }

    [Fact]
    public void GradientOfAnUpstreamTensorIsNotAliasedWithTheLeafGradient()
    {
        // The leaf's Grad must be its own copy: writing to it (an optimizer step) must not change y.Grad.
        var x = T([1f, 2f], 2).RequireGrad();
        var y = (x + 0f).RetainGrad();
        y.Backward(T([5f, 6f], 2));
        x.Grad!.AsSpan()[0] = 100f;
        Assert.Equal([5f, 6f], y.Grad!.ToArray());
    }

    public static TheoryData<string, string> BinaryOps => new()
    {
        { "add", "add" }, { "sub", "sub" }, { "mul", "mul" }, { "div", "div" }, { "maximum", "maximum" }, { "pow", "pow" },
    };

    [Theory]
    [MemberData(nameof(BinaryOps))]
    public void BroadcastMismatchNamesTheOpAndBothShapes(string op, string expectedName)
    {
        var a = Tensor.Ones(2, 3);
        var b = Tensor.Ones(4, 5);
        Func<Tensor> call = op switch
        {
            "add" => () => a + b,
            "sub" => () => a - b,
            "mul" => () => a * b,
            "div" => () => a / b,
            "maximum" => () => Tensor.Maximum(a, b),
            _ => () => a.Pow(b),
        };
        var e = Assert.Throws<ShapeMismatchException>(call);
        Assert.StartsWith(expectedName + ":", e.Message);
        Assert.Contains("[2,3]", e.Message);
        Assert.Contains("[4,5]", e.Message);
    }

    [Fact]
    public void MatmulMismatchNamesTheOpAndBothShapes()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => Tensor.Ones(2, 3).MatMul(Tensor.Ones(4, 5)));
        Assert.Equal("matmul: [2,3] · [4,5]: inner dimensions 3 and 4 differ.", e.Message);
        var batch = Assert.Throws<ShapeMismatchException>(() => Tensor.Ones(2, 3, 4).MatMul(Tensor.Ones(3, 4, 5)));
        Assert.Equal("matmul [2,3,4] · [3,4,5] batch dimensions: shapes [2] and [3] cannot be broadcast together (dimension 0: 2 vs 3).", batch.Message);
    }

    [Fact]
    public void ReshapeMismatchNamesBothShapes()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => Tensor.Ones(2, 3).Reshape(4, 2));
        Assert.Equal("reshape: cannot reshape [2,3] (6 elements) to [4,2].", e.Message);
    }
}
