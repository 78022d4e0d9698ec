using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Nn;

/// <summary>
/// Forward hooks, forward pre-hooks and tensor gradient hooks: order, replacement, removal, gradient values, and the
/// compiled paths stepping aside (with a reason) for a model that has hooks.
/// </summary>
public sealed class HookTests
{
    private static readonly Dataset Train = Standardizer.Fit(Datasets.Iris().Features).Transform(Datasets.Iris());

    /// <summary>A custom module that calls its children through Call, as PyTorch code calls self.fc(x).</summary>
    private sealed class TwoLayers : Module
    {
        public Dense First { get; } = new(2, 3, rng: new Rng(1));
        public Dense Second { get; } = new(3, 1, rng: new Rng(2));

        public override Tensor Forward(Tensor input) => Second.Call(First.Call(input).Tanh());
    }

    [Fact]
    public void HooksFireInRegistrationOrderInsideSequentialAndCustomModules()
    {
        var log = new List<string>();
        var inner = new TwoLayers();
        var model = new Sequential(new Dense(2, 2, rng: new Rng(3)), inner);
        model.Layers[0].RegisterForwardPreHook((_, _) => log.Add("pre0 a"));
        model.Layers[0].RegisterForwardPreHook((_, _) => log.Add("pre0 b"));
        model.Layers[0].RegisterForwardHook((_, _, _) => log.Add("post0"));
        inner.First.RegisterForwardHook((m, x, y) => log.Add($"first {m} {Shapes(x)}→{Shapes(y)}"));
        inner.Second.RegisterForwardHook((_, _, _) => log.Add("second"));
        inner.RegisterForwardHook((_, _, _) => log.Add("inner"));
        model.RegisterForwardHook((_, _, _) => log.Add("model"));
        model.Call(Tensor.Zeros(4, 2));
        Assert.Equal(["pre0 a", "pre0 b", "post0", "first Dense(2→3) [4, 2]→[4, 3]", "second", "inner", "model"], log);
        log.Clear();
        model.Forward(Tensor.Zeros(1, 2));   // Forward itself is the model's own code: its hooks are Call's
        Assert.Equal(["pre0 a", "pre0 b", "post0", "first Dense(2→3) [1, 2]→[1, 3]", "second", "inner"], log);
    }

    private static string Shapes(Tensor t) => $"[{string.Join(", ", t.Shape)}]";

    [Fact]
    public void HooksReplaceInputAndOutputAndGradientsFollowTheReplacement()
    {
        var dense = new Dense(2, 1, rng: new Rng(4));
        var x = Tensor.FromArray([1f, 2f], 1, 2);
        var plain = dense.Call(x).Item();
        using var pre = dense.RegisterReplacingForwardPreHook((_, input) => input * 2f);
        using var post = dense.RegisterReplacingForwardHook((_, _, output) => output * 3f);
        using var post2 = dense.RegisterReplacingForwardHook((_, _, output) => output + 1f);   // sees the tripled output
        var b = dense.Bias!.Item();
        var y = dense.Call(x);
        // y = 3·((2x)·W + b) + 1 = 3·(2·(plain − b) + b) + 1
        Assert.Equal(3f * (2f * (plain - b) + b) + 1f, y.Item(), 5);
        y.Backward();
        Assert.Equal([6f * 1f, 6f * 2f], dense.Weight.Grad!.ToArray());   // ∂y/∂W = 3·2x
        Assert.Equal(3f, dense.Bias.Grad!.Item());
    }

    [Fact]
    public void ADisposedHookNoLongerFires()
    {
        var relu = new Relu();
        int calls = 0;
        var handle = relu.RegisterForwardHook((_, _, _) => calls++);
        var zero = relu.RegisterReplacingForwardHook((_, _, y) => y * 0f);
        relu.Call(Tensor.Ones(2));
        Assert.Equal(1, calls);
        handle.Dispose();
        handle.Dispose();
        Assert.False(handle.IsActive);
        Assert.Equal([0f, 0f], relu.Call(Tensor.Ones(2)).ToArray());
        zero.Dispose();
        Assert.Equal([1f, 1f], relu.Call(Tensor.Ones(2)).ToArray());
        Assert.Equal(1, calls);
    }

    [Fact]
    public void AnObservingHookWhoseBodyIsANumberChangesNothing()
    {
        // With one overloaded name, C# would pick the replacing overload here and turn the count into the output.
        var relu = new Relu();
        int calls = 0, grads = 0;
        using var forward = relu.RegisterForwardHook((_, _, _) => calls++);
        using var pre = relu.RegisterForwardPreHook((_, _) => calls++);
        var x = Tensor.FromArray([1f, 2f]).RequireGrad();
        var y = relu.Call(x);
        using var grad = y.RegisterHook(_ => grads++);
        Assert.Equal([1f, 2f], y.ToArray());
        y.Sum().Backward();
        Assert.Equal([1f, 1f], x.Grad!.ToArray());
        Assert.Equal((2, 1), (calls, grads));
    }

    [Fact]
    public void AGradientHookSeesTheGradientAndMayReplaceIt()
    {
        var x = Tensor.FromArray([1f, 2f, 3f]).RequireGrad();
        var y = x * x;
        Tensor? seen = null;
        y.RegisterHook(g => seen = g.Clone());
        y.RegisterReplacingHook(g => g * 2f);
        (y * 3f).Sum().Backward();
        Assert.Equal([3f, 3f, 3f], seen!.ToArray());
        Assert.Equal([12f, 24f, 36f], x.Grad!.ToArray());   // 2x · (3·2)
    }

    [Fact]
    public void ALeafHookSeesThePassGradientOnceBeforeItIsAccumulated()
    {
        var x = Tensor.FromArray([1f, 2f]).RequireGrad();
        var calls = new List<float[]>();
        using var hook = x.RegisterReplacingHook(g =>
        {
            calls.Add(g.ToArray());
            return g * 10f;
        });
        (x * 2f + x * 3f).Sum().Backward();
        Assert.Equal([[5f, 5f]], calls);   // the sum over both uses, once
        Assert.Equal([50f, 50f], x.Grad!.ToArray());
        (x * 1f).Sum().Backward();   // accumulates: 50 + 10·1
        Assert.Equal([60f, 60f], x.Grad!.ToArray());
        hook.Dispose();
        (x * 1f).Sum().Backward();
        Assert.Equal([61f, 61f], x.Grad!.ToArray());
    }

    [Fact]
    public void GradientHookMistakesAreNamed()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Tensor.Ones(2).RegisterHook(_ => { }));
        Assert.StartsWith("cannot register a gradient hook on a tensor that does not require gradients", e.Message);
        var x = Tensor.Ones(2).RequireGrad();
        var y = x * 2f;
        y.RegisterReplacingHook(_ => Tensor.Ones(3));
        var s = Assert.Throws<ShapeMismatchException>(() => y.Sum().Backward());
        Assert.Equal("a gradient hook returned shape [3] for a tensor of shape [2] (output of 'mul'); return the gradient's shape, or null to keep it.", s.Message);
    }

    [Fact]
    public void ABackwardHookSeesThisCallsInputAndOutputGradients()
    {
        // y = tanh(x·W + b) through a Sequential whose first layer's input is also used outside it (a residual):
        // the hook's ∂L/∂input is the layer's share only, as PyTorch's full backward hook.
        var dense = new Dense(2, 2, rng: new Rng(7));
        var model = new Sequential(dense, new Tanh());
        var seen = new List<(float[]? In, float[] Out)>();
        using var hook = dense.RegisterFullBackwardHook((m, gin, gout) => seen.Add((gin?.ToArray(), gout.ToArray())));
        var x = Tensor.FromArray([0.5f, -1f, 2f, 0.25f], 2, 2).RequireGrad();
        var loss = (model.Call(x) + x * 3f).Sum();
        loss.Backward();
        Assert.Single(seen);
        var h = x.Detach().MatMul(dense.Weight.Detach()) + dense.Bias!.Detach();
        var gout = (1f - h.Tanh() * h.Tanh()).ToArray();   // ∂L/∂(dense output) = 1 − tanh²
        Assert.Equal(gout, seen[0].Out, new Tolerance(1e-6f));
        var gin = Tensor.FromArray(gout, 2, 2).MatMul(dense.Weight.Detach().Transpose(0, 1)).ToArray();   // ∂L/∂x through the layer
        Assert.Equal(gin, seen[0].In!, new Tolerance(1e-6f));
        Assert.Equal(gin.Select(v => v + 3f), x.Grad!.ToArray(), new Tolerance(1e-6f));   // the residual's 3 is not the layer's

        seen.Clear();
        model.Call(Tensor.FromArray([1f, 1f], 1, 2)).Sum().Backward();   // data that needs no gradient: ∂L/∂input is null
        Assert.Null(Assert.Single(seen).In);
    }

    private sealed class Tolerance(float eps) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= eps * (1 + Math.Abs(b));

        public int GetHashCode(float v) => 0;
    }

    private static Sequential NewMlp() => new(new Dense(4, 6, rng: new Rng(5)), new Relu(), new Dense(6, 3, rng: new Rng(6)));

    [Fact]
    public void AModelWithHooksTrainsThroughTheGraphAndSaysWhy()
    {
        var model = NewMlp();
        var plain = model.Fit(Train, Losses.CrossEntropy, new Sgd(model.Parameters(), lr: 0.1f), new FitOptions { Epochs = 1, BatchSize = 50 });
        Assert.Equal(TrainingEngine.Compiled, plain.Engine);

        int calls = 0;
        using (model.Layers[1].RegisterForwardHook((_, _, _) => calls++))
        {
            var history = model.Fit(Train, Losses.CrossEntropy, new Sgd(model.Parameters(), lr: 0.1f), new FitOptions { Epochs = 1, BatchSize = 50 });
            Assert.Equal(TrainingEngine.Graph, history.Engine);
            Assert.Equal("the module '1' (ReLU) has forward hooks, which the compiled step would not call", history.EngineReason);
            // Three batches, and the divergence guard's one look at the loss the model starts from (no validation set here).
            Assert.Equal(4, calls);
            var e = Assert.Throws<InvalidOperationException>(() => model.Fit(Train, Losses.CrossEntropy, new Sgd(model.Parameters(), lr: 0.1f),
                new FitOptions { Epochs = 1, Engine = TrainingEngine.Compiled }));
            Assert.Contains("cannot train this model: the module '1' (ReLU) has forward hooks", e.Message);
        }
        using (model.Layers[0].Parameters()[0].RegisterHook(_ => { }))
        {
            var history = model.Fit(Train, Losses.CrossEntropy, new Sgd(model.Parameters(), lr: 0.1f), new FitOptions { Epochs = 1, BatchSize = 50 });
            Assert.Equal("the parameter '0.weight' has a gradient hook, which the compiled step would not call", history.EngineReason);
        }
        using (model.Layers[2].RegisterFullBackwardHook((_, _, _) => { }))
        {
            var history = model.Fit(Train, Losses.CrossEntropy, new Sgd(model.Parameters(), lr: 0.1f), new FitOptions { Epochs = 1, BatchSize = 50 });
            Assert.Equal("the module '2' (Dense(6→3)) has backward hooks, which the compiled step would not call", history.EngineReason);
            Assert.True(new Predictor(model).IsCompiled);   // inference has no backward pass to skip
        }
    }

    [Fact]
    public void AParameterHookThatZeroesItsGradientFreezesItInFit()
    {
        var model = NewMlp();
        var weight = model.Layers[0].Parameters()[0];
        var before = weight.ToArray();
        using var hook = weight.RegisterReplacingHook(g => Tensor.Zeros([.. g.Shape]));
        var bias = model.Layers[2].Parameters()[1].ToArray();
        model.Fit(Train, Losses.CrossEntropy, new Sgd(model.Parameters(), lr: 0.1f), new FitOptions { Epochs = 2, BatchSize = 16 });
        Assert.Equal(before, weight.ToArray());
        Assert.NotEqual(bias, model.Layers[2].Parameters()[1].ToArray());
    }

    [Fact]
    public void PredictRunsHooksAddedAfterThePredictorCompiled()
    {
        var model = NewMlp();
        var predictor = new Predictor(model);
        Assert.True(predictor.IsCompiled);
        var x = Train.Features;
        var compiled = predictor.Predict(x).ToArray();
        using (model.RegisterReplacingForwardHook((_, _, y) => y * 0f))
        {
            Assert.All(predictor.Predict(x).ToArray(), v => Assert.Equal(0f, v));
            Assert.All(model.Predict(x).ToArray(), v => Assert.Equal(0f, v));
            Assert.Equal("the model Sequential(Dense(4→6) → ReLU → Dense(6→3)) has forward hooks, which the compiled step would not call",
                new Predictor(model).FallbackReason);
        }
        Assert.Equal(compiled, predictor.Predict(x).ToArray());
    }

    [Fact]
    public void AHookRegisteredWhileTheCompiledStepTrainsStopsFitInsteadOfBeingSkipped()
    {
        var model = NewMlp();
        HookHandle? late = null;
        var e = Assert.Throws<InvalidOperationException>(() => model.Fit(Train, Losses.CrossEntropy, new Sgd(model.Parameters(), lr: 0.1f), new FitOptions
        {
            Epochs = 2, BatchSize = 50, OnEpoch = _ => late ??= model.Layers[1].RegisterForwardHook((_, _, _) => { }),
        }));
        late?.Dispose();
        Assert.Equal("a hook was registered while Fit trained the model with the compiled step: the module '1' (ReLU) has forward hooks, which the compiled step would not call. " +
            "Register hooks before Fit, which then trains through the autograd graph.", e.Message);
    }
}
