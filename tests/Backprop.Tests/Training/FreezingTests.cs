using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// A parameter with RequiresGrad = false stays as it is on every path: the compiled step computes no gradient for
/// it (but still passes the gradient through its layer), the graph records none, and an optimizer skips it even with
/// a stale gradient, also when it was frozen after the optimizer was built.
/// </summary>
public sealed class FreezingTests
{
    private static readonly Dataset Spirals = Datasets.Spirals(60, 3, seed: 2);

    private static Sequential Mlp3() =>
        new(new Dense(2, 16, rng: new Rng(1)), new Relu(), new Dense(16, 16, rng: new Rng(2)), new Tanh(), new Dense(16, 3, rng: new Rng(3)));

    private static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])),
                $"{what}[{i}]: expected {expected[i]} but got {actual[i]}");
    }

    [Theory]
    [InlineData(TrainingEngine.Compiled)]
    [InlineData(TrainingEngine.Graph)]
    public void FreezingAfterBuildingTheOptimizerHoldsThroughFit(TrainingEngine engine)
    {
        // api.md's case: build Adam over every parameter, then freeze the first layer, then Fit.
        var model = Mlp3();
        var adam = new Adam(model.Parameters(), lr: 1e-2f);
        var first = (Dense)model.Layers[0];
        first.Weight.RequiresGrad = false;
        first.Bias!.RequiresGrad = false;
        var (w0, b0) = (first.Weight.ToArray(), first.Bias.ToArray());
        var middle = model.Layers[2] is Dense d ? d.Weight.ToArray() : [];

        var history = model.Fit(Spirals, Losses.CrossEntropy, adam, new FitOptions { Epochs = 2, BatchSize = 32, Engine = engine });

        Assert.Equal(engine, history.Engine);
        Assert.Equal(w0, first.Weight.ToArray());
        Assert.Equal(b0, first.Bias.ToArray());
        Assert.NotEqual(middle, ((Dense)model.Layers[2]).Weight.ToArray());
    }

    [Fact]
    public void BothEnginesTrainAPartlyFrozenModelToTheSameWeights()
    {
        Module Train(TrainingEngine engine)
        {
            var model = Mlp3();
            var adam = new Adam(model.Parameters(), lr: 1e-2f);
            ((Dense)model.Layers[2]).Weight.RequiresGrad = false;   // frozen in the middle: dX still flows through it
            ((Dense)model.Layers[4]).Bias!.RequiresGrad = false;
            model.Fit(Spirals, Losses.CrossEntropy, adam, new FitOptions { Epochs = 3, BatchSize = 16, Seed = 4, Engine = engine });
            return model;
        }

        var compiled = Train(TrainingEngine.Compiled).Parameters();
        var graph = Train(TrainingEngine.Graph).Parameters();
        for (int p = 0; p < compiled.Count; p++) AssertClose(graph[p].ToArray(), compiled[p].ToArray(), 1e-4, $"parameter {p}");
        Assert.Equal(Mlp3().Parameters()[2].ToArray(), compiled[2].ToArray());
        Assert.Equal(Mlp3().Parameters()[5].ToArray(), compiled[5].ToArray());
    }

    [Fact]
    public void ThePlanComputesNoGradientForAFrozenParameterButPassesTheGradientThroughItsLayer()
    {
        var model = Mlp3();
        var middle = (Dense)model.Layers[2];
        middle.Weight.RequiresGrad = false;
        var batch = Spirals.Take(40);
        model.ZeroGrad();
        Losses.CrossEntropy.Compute(model.Forward(batch.Features), batch.Targets).Backward();
        var expected = model.Parameters().Select(p => p.Grad?.ToArray()).ToList();
        Assert.Null(expected[2]);

        var plan = TrainingPlan.TryCreate(model, Losses.CrossEntropy, batch, maxBatch: 40, out var reason);
        Assert.True(plan is not null, reason);
        model.ZeroGrad();
        plan.Step(batch, [.. Enumerable.Range(0, 40)]);
        var parameters = model.Parameters();
        Assert.Null(middle.Weight.Grad);
        for (int p = 0; p < parameters.Count; p++)
            if (p != 2) AssertClose(expected[p]!, parameters[p].Grad!.ToArray(), 1e-5, $"gradient {p}");
    }

    [Fact]
    public void AFrozenFirstLayerIsSkippedByTheBackwardPassAndUnfreezingItResumesItsGradient()
    {
        var model = Mlp3();
        var first = (Dense)model.Layers[0];
        var batch = Spirals.Take(30);
        int[] rows = [.. Enumerable.Range(0, 30)];
        var plan = TrainingPlan.TryCreate(model, Losses.CrossEntropy, batch, maxBatch: 30, out var reason);
        Assert.True(plan is not null, reason);

        first.Weight.RequiresGrad = false;
        first.Bias!.RequiresGrad = false;
        model.ZeroGrad();
        plan.Step(batch, rows);
        Assert.Null(first.Weight.Grad);
        Assert.Null(first.Bias.Grad);
        Assert.NotNull(((Dense)model.Layers[2]).Weight.Grad);

        first.Weight.RequiresGrad = true;
        first.Bias.RequiresGrad = true;
        plan.Step(batch, rows);
        var planGrad = first.Weight.Grad!.ToArray();
        model.ZeroGrad();
        Losses.CrossEntropy.Compute(model.Forward(batch.Features), batch.Targets).Backward();
        AssertClose(first.Weight.Grad!.ToArray(), planGrad, 1e-5, "first layer's gradient after unfreezing");
    }

    [Fact]
    public void ThePlanSkipsAFrozenConvolutionWeightAndStillTrainsItsBiasAndTheLayersBelow()
    {
        var rng = new Rng(8);
        var data = new Dataset(Tensor.RandomNormal([10, 16], rng), Tensor.FromArray([.. Enumerable.Range(0, 10).Select(i => (float)(i % 3))]), name: "random");
        var top = new Conv2d(2, 3, 3, padding: 1, rng: new Rng(9));
        var model = new Sequential(new Reshape(1, 4, 4), new Conv2d(1, 2, 3, padding: 1, rng: new Rng(10)), new Relu(),
            top, new Relu(), new MaxPool2d(2), new Flatten(), new Dense(12, 3, rng: new Rng(11)));
        top.Weight.RequiresGrad = false;
        model.ZeroGrad();
        Losses.CrossEntropy.Compute(model.Forward(data.Features), data.Targets).Backward();
        var expected = model.Parameters().Select(p => p.Grad?.ToArray()).ToList();

        var plan = TrainingPlan.TryCreate(model, Losses.CrossEntropy, data, maxBatch: 10, out var reason);
        Assert.True(plan is not null, reason);
        model.ZeroGrad();
        plan.Step(data, [.. Enumerable.Range(0, 10)]);
        Assert.Null(top.Weight.Grad);
        var parameters = model.Parameters();
        for (int p = 0; p < parameters.Count; p++)
            if (expected[p] is { } e) AssertClose(e, parameters[p].Grad!.ToArray(), 1e-5, $"gradient {p}");
    }

    [Fact]
    public void StepLeavesAFrozenParameterAloneEvenWithAStaleGradient()
    {
        var w = Tensor.FromArray([1f, 2f]).RequireGrad();
        var sgd = new Sgd([w], lr: 0.5f);
        w.Grad = Tensor.FromArray([1f, 1f]);
        w.RequiresGrad = false;
        sgd.Step();
        Assert.Equal([1f, 2f], w.ToArray());
        w.RequiresGrad = true;
        sgd.Step();
        Assert.Equal([0.5f, 1.5f], w.ToArray());
    }

    [Fact]
    public void AnOptimizerMayBeBuiltOverFrozenParametersAsInPyTorch()
    {
        var model = Mlp3();
        var first = (Dense)model.Layers[0];
        first.Weight.RequiresGrad = false;
        var adam = new Adam(model.Parameters(), lr: 1e-2f);
        Assert.Equal(6, adam.Parameters.Count);
        var w0 = first.Weight.ToArray();
        model.Fit(Spirals, Losses.CrossEntropy, adam, epochs: 1, batchSize: 32);
        Assert.Equal(w0, first.Weight.ToArray());

        first.Weight.RequiresGrad = true;   // unfrozen: the same optimizer now trains it
        model.Fit(Spirals, Losses.CrossEntropy, adam, epochs: 1, batchSize: 32);
        Assert.NotEqual(w0, first.Weight.ToArray());
    }

    [Fact]
    public void AnOptimizerStillNeedsSomeParameters()
    {
        var e = Assert.Throws<ArgumentException>(() => new Sgd([], lr: 0.1f));
        Assert.Contains("no parameters", e.Message);
    }
}
