using Backprop.Explain;

namespace Backprop.Tests.Autograd;

/// <summary>A user-defined op with its own forward and backward: recorded as one node, checked by the public GradCheck.</summary>
public sealed class FunctionTests
{
    /// <summary>x³, with the saved input read by the backward.</summary>
    private sealed class Cube : Function
    {
        protected override Tensor Forward(FunctionContext context, IReadOnlyList<Tensor> inputs)
        {
            context.SaveForBackward(inputs[0]);
            return inputs[0] * inputs[0] * inputs[0];
        }

        protected override Tensor?[] Backward(FunctionContext context, Tensor outputGradient) =>
            [outputGradient * 3f * context.Saved[0] * context.Saved[0]];
    }

    /// <summary>a·w + b on rows, with a gradient for every input, and none for an index-like third input.</summary>
    private sealed class Affine : Function
    {
        public override string Name => "affine";

        protected override Tensor Forward(FunctionContext context, IReadOnlyList<Tensor> inputs)
        {
            context.SaveForBackward(inputs[0], inputs[1]);
            return inputs[0].MatMul(inputs[1]) + inputs[2];
        }

        protected override Tensor?[] Backward(FunctionContext context, Tensor g) =>
            [g.MatMul(context.Saved[1].T()), context.Saved[0].T().MatMul(g), g.Sum(0), null];
    }

    [Fact]
    public void ACustomFunctionGetsTheGradientItsBackwardGives()
    {
        var x = Tensor.FromArray([1f, -2f, 3f]).RequireGrad();
        var y = new Cube().Apply(x);
        Assert.Equal([1f, -8f, 27f], y.ToArray());
        y.Sum().Backward();
        Assert.Equal([3f, 12f, 27f], x.Grad!.ToArray());
    }

    [Fact]
    public void TheGraphHoldsOneNodeNamedAfterTheFunction()
    {
        var x = Tensor.FromArray([1f, 2f]).RequireGrad();
        var y = new Cube().Apply(x);
        Assert.Equal("Cube", y.Node!.Op);
        Assert.Same(x, Assert.Single(y.Node.Inputs));
    }

    [Fact]
    public void APublicGradCheckPassesOnAFunctionWithSeveralInputs()
    {
        var rng = new Rng(3);
        var a = Tensor.RandomNormal([3, 4], rng).RequireGrad();
        var w = Tensor.RandomNormal([4, 2], rng).RequireGrad();
        var b = Tensor.RandomNormal([2], rng).RequireGrad();
        var index = Tensor.FromArray([0f, 1f]);
        var fn = new Affine();
        var result = GradCheck.Check(t => fn.Apply(t[0], t[1], t[2], index).Tanh().Sum(), a, w, b);
        Assert.True(result.WorstRelativeError < 1e-2, result.ToString());
    }

    /// <summary>The cube's backward off by a factor: the check must see it.</summary>
    private sealed class WrongCube : Function
    {
        protected override Tensor Forward(FunctionContext context, IReadOnlyList<Tensor> inputs)
        {
            context.SaveForBackward(inputs[0]);
            return inputs[0] * inputs[0] * inputs[0];
        }

        protected override Tensor?[] Backward(FunctionContext context, Tensor outputGradient) =>
            [outputGradient * 2f * context.Saved[0] * context.Saved[0]];
    }

    [Fact]
    public void GradCheckCatchesAWrongBackward()
    {
        var x = Tensor.RandomNormal([5], new Rng(4)).RequireGrad();
        var fn = new WrongCube();
        var result = GradCheck.Check(t => fn.Apply(t[0]), x);
        Assert.True(result.WorstRelativeError > 0.2, result.ToString());
    }

    [Fact]
    public void AFunctionComposesWithBuiltInOpsAndMatchesThem()
    {
        var x1 = Tensor.FromArray([0.5f, -1.5f, 2f]).RequireGrad();
        (new Cube().Apply(x1).Tanh() * 2f).Sum().Backward();
        var x2 = Tensor.FromArray([0.5f, -1.5f, 2f]).RequireGrad();
        ((x2 * x2 * x2).Tanh() * 2f).Sum().Backward();
        Assert.Equal(x2.Grad!.ToArray(), x1.Grad!.ToArray());
    }

    private sealed class WrongCount : Function
    {
        protected override Tensor Forward(FunctionContext context, IReadOnlyList<Tensor> inputs) => inputs[0] * 2f;

        protected override Tensor?[] Backward(FunctionContext context, Tensor g) => [g, g];
    }

    private sealed class WrongShape : Function
    {
        protected override Tensor Forward(FunctionContext context, IReadOnlyList<Tensor> inputs) => inputs[0].Sum();

        protected override Tensor?[] Backward(FunctionContext context, Tensor g) => [g];
    }

    [Fact]
    public void ABackwardThatReturnsTheWrongNumberOrShapeOfGradientsIsNamed()
    {
        var x = Tensor.FromArray([1f, 2f]).RequireGrad();
        var count = Assert.Throws<InvalidOperationException>(() => new WrongCount().Apply(x).Sum().Backward());
        Assert.Equal("WrongCount.Backward returned 2 gradient(s) for 1 input(s); return one per input, null where there is none.", count.Message);
        var shape = Assert.Throws<ShapeMismatchException>(() => new WrongShape().Apply(x).Backward());
        Assert.Equal("WrongShape.Backward returned a gradient of shape [] for input 0 of shape [2]; they must be equal.", shape.Message);
    }

    [Fact]
    public void WritingASavedTensorInPlaceBeforeBackwardIsRefusedAsForBuiltInOps()
    {
        var x = Tensor.FromArray([1f, 2f]).RequireGrad();
        var h = x * 1f;
        var y = new Cube().Apply(h);
        h[0] = 5f;
        var e = Assert.Throws<InvalidOperationException>(() => y.Sum().Backward());
        Assert.Contains("Cube", e.Message);
    }

    [Fact]
    public void ForwardOpsAreNotRecordedOnlyTheFunctionIs()
    {
        var x = Tensor.FromArray([2f]).RequireGrad();
        var y = new Cube().Apply(x);
        Assert.True(y.RequiresGrad);
        using (GradMode.NoGrad()) Assert.False(new Cube().Apply(x).RequiresGrad);
    }
}
