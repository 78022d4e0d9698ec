using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Autograd;

/// <summary>
/// PyTorch's version counter: an in-place write to a tensor that a recorded op saved for its backward makes
/// Backward() throw, naming the op, instead of silently giving the gradient at other values.
/// </summary>
public sealed class VersionCounterTests
{
    [Fact]
    public void WritingASavedInputAfterTheForwardPassMakesBackwardThrow()
    {
        // api.md: without the check x.Grad came out [20,4,6]; the gradient at the forward values is [2,4,6].
        var x = Tensor.FromArray([1f, 2f, 3f], 3).RequireGrad();
        var y = (x * x).Sum();
        x[0] = 10f;
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Equal(
            "the [3] tensor that is input 0 of 'mul' was modified in place after 'mul' saved it for backward (version 0 → 1); " +
            "clone it before writing, or write before the forward pass.", e.Message);
        Assert.Null(x.Grad);
    }

    [Fact]
    public void TheMessageUsesTheTensorsName()
    {
        var x = Tensor.FromArray([1f, 2f, 3f], 1, 3).RequireGrad();
        x.Name = "x";
        var w = Tensor.FromArray([1f, 2f, 3f], 3, 1).RequireGrad();
        var z = x.MatMul(w).Sum();
        x[0, 1] = 0f;
        x[0, 2] = 0f;
        var e = Assert.Throws<InvalidOperationException>(() => z.Backward());
        Assert.StartsWith("'x' was modified in place after 'matmul' saved it for backward (version 0 → 2)", e.Message);
    }

    [Fact]
    public void WritesBeforeTheForwardPassAreFine()
    {
        var x = Tensor.FromArray([1f, 2f, 3f], 3).RequireGrad();
        x[0] = 10f;
        var y = (x * x).Sum();
        y.Backward();
        Assert.Equal([20f, 4f, 6f], x.Grad!.ToArray());
    }

    [Fact]
    public void AnOpThatSavesNothingIgnoresTheWrite()
    {
        // add and sum never read their inputs' values in backward, so PyTorch lets this through too.
        var x = Tensor.FromArray([1f, 2f, 3f], 3).RequireGrad();
        var y = (x + 1f).Sum();
        x[0] = 10f;
        y.Backward();
        Assert.Equal([1f, 1f, 1f], x.Grad!.ToArray());
    }

    [Fact]
    public void AWriteToASavedOutputIsCaught()
    {
        // sigmoid's backward is y(1 − y) from its output.
        var x = Tensor.FromArray([0f, 1f], 2).RequireGrad();
        var y = x.Sigmoid();
        var loss = y.Sum();
        y[0] = 0.9f;
        var e = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.StartsWith("the [2] output of 'sigmoid' was modified in place", e.Message);
    }

    [Fact]
    public void ViewsShareTheirSourcesVersion()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], 4).RequireGrad();
        var v = x.Reshape(2, 2);
        var y = (v * v).Sum();
        x[3] = 0f;                       // a write through the source reaches the view mul saved
        Assert.Equal(1, v.Version);
        Assert.Throws<InvalidOperationException>(() => y.Backward());

        var a = Tensor.FromArray([1f, 2f], 2).RequireGrad();
        var b = (a * a).Sum();
        a.Detach()[0] = 5f;              // detach shares storage, so it shares the version
        Assert.Equal(1, a.Version);
        Assert.Throws<InvalidOperationException>(() => b.Backward());
    }

    [Fact]
    public void AnOptimizerStepBetweenForwardAndBackwardIsCaught()
    {
        var layer = new Dense(3, 2, rng: new Rng(1));
        var sgd = new Sgd(layer.Parameters(), lr: 0.1f);
        var x = Tensor.RandomNormal([4, 3], 2);
        layer.Forward(x).Sum().Backward();
        var loss = layer.Forward(x).Sum();
        sgd.Step();                       // updates the weight matmul saved for the pending backward
        var e = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("'matmul'", e.Message);
    }

    [Fact]
    public void TheIndexerAndOptimizerStepsCountVersionsButAsSpanDoesNot()
    {
        var w = Tensor.Zeros(2).RequireGrad();
        Assert.Equal(0, w.Version);
        w[0] = 1f;
        Assert.Equal(1, w.Version);
        w.AsSpan()[1] = 2f;               // the raw storage, like .data: not counted
        Assert.Equal(1, w.Version);
        w.Grad = Tensor.Ones(2);
        new Sgd([w], lr: 0.1f).Step();
        Assert.Equal(2, w.Version);
        Init.HeNormal(w, 2, 2, new Rng(1));
        Init.Constant(0.5f)(w, 2, 2, new Rng(1));
        Assert.Equal(4, w.Version);
    }

    [Fact]
    public void TrainingThroughTheGraphStepAfterStepStillWorks()
    {
        var data = Datasets.Spirals(30, 2, seed: 1);
        var model = new Sequential(new Dense(2, 8, rng: new Rng(1)), new Tanh(), new Dense(8, 2, rng: new Rng(2)));
        var history = model.Fit(data, Losses.CrossEntropy, new Adam(model.Parameters(), 1e-2f),
            new FitOptions { Epochs = 3, BatchSize = 8, Engine = TrainingEngine.Graph });
        Assert.Equal(3, history.Epochs.Count);
        Assert.True(model.Parameters()[0].Version > 0);
    }
}
