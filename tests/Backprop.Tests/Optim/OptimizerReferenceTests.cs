using System.Text.Json;
using Backprop.Optim;
using Backprop.Tests.Golden;

namespace Backprop.Tests.Optim;

/// <summary>SGD, Adam and AdamW against PyTorch trajectories (tools/make_optim_reference.py).</summary>
public sealed class OptimizerReferenceTests
{
    public static TheoryData<string> Cases() => [.. GoldenFile.Load("torch_optim.json").GetProperty("optimizers").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    private static Optimizer Make(string name, Tensor w) => name switch
    {
        "sgd" => new Sgd([w], lr: 0.1f),
        "sgd_momentum" => new Sgd([w], lr: 0.1f, momentum: 0.9f),
        "sgd_nesterov" => new Sgd([w], lr: 0.1f, momentum: 0.9f, nesterov: true),
        "sgd_weight_decay" => new Sgd([w], lr: 0.05f, momentum: 0.5f, weightDecay: 0.1f),
        "adam" => new Adam([w], lr: 0.01f),
        "adam_weight_decay" => new Adam([w], lr: 0.02f, beta1: 0.8f, beta2: 0.99f, eps: 1e-6f, weightDecay: 0.05f),
        "adamw" => new AdamW([w], lr: 0.01f),
        "adamw_weight_decay" => new AdamW([w], lr: 0.05f, beta1: 0.8f, beta2: 0.99f, eps: 1e-6f, weightDecay: 0.3f),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrajectoryMatchesPyTorch(string name)
    {
        var c = GoldenFile.Load("torch_optim.json").GetProperty("optimizers").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var w = Tensor.FromArray(c.GetProperty("initial").Floats()).RequireGrad();
        var optimizer = Make(name, w);
        var grads = c.GetProperty("gradients").EnumerateArray().Select(g => g.Floats()).ToList();
        var expected = c.GetProperty("after_each_step").EnumerateArray().Select(g => g.Floats()).ToList();
        for (int step = 0; step < grads.Count; step++)
        {
            optimizer.ZeroGrad();
            w.Grad = Tensor.FromArray(grads[step]);
            optimizer.Step();
            // float32 updates in a different order than PyTorch's: agree to a few ulps of the weights.
            var actual = w.ToArray();
            for (int i = 0; i < actual.Length; i++)
                Assert.True(Math.Abs(actual[i] - expected[step][i]) <= 1e-6 + 1e-5 * Math.Abs(expected[step][i]),
                    $"{name} step {step + 1} w[{i}]: {actual[i]} vs torch {expected[step][i]}");
        }
    }

    [Fact]
    public void PlainSgdIsTheSeedsUpdateRule()
    {
        var w = Tensor.FromArray([1f, -2f]).RequireGrad();
        w.Grad = Tensor.FromArray([0.5f, -4f]);
        new Sgd([w], lr: 0.1f).Step();
        Assert.Equal([0.95f, -1.6f], w.ToArray());
    }

    [Fact]
    public void ParametersWithoutGradientsAreLeftAlone()
    {
        var a = Tensor.FromArray([1f]).RequireGrad();
        var b = Tensor.FromArray([2f]).RequireGrad();
        a.Grad = Tensor.FromArray([1f]);
        new Adam([a, b], lr: 0.1f).Step();
        Assert.Equal(2f, b.Item());
        Assert.NotEqual(1f, a.Item());
    }

    [Fact]
    public void BadSettingsAreRejectedWithTheValue()
    {
        var w = Tensor.FromArray([1f]).RequireGrad();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([w], lr: -1f));
        Assert.Contains("learning rate", e.Message);
        Assert.Throws<ArgumentException>(() => new Sgd([w], lr: 0.1f, nesterov: true));
        var frozen = Tensor.FromArray([1f]);   // accepted, as PyTorch does, and left alone while frozen
        frozen.Grad = Tensor.FromArray([1f]);
        new Adam([frozen]).Step();
        Assert.Equal(1f, frozen.Item());
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([w], beta1: 1f));
    }

    [Fact]
    public void SavedStateContinuesTheSameTrajectory()
    {
        // Two steps, save, a fresh optimizer loads the state, one more step: equal to three uninterrupted steps.
        foreach (var make in new Func<Tensor, Optimizer>[] { w => new Sgd([w], lr: 0.1f, momentum: 0.9f), w => new Adam([w], lr: 0.1f), w => new AdamW([w], lr: 0.1f) })
        {
            var a = Tensor.FromArray([1f, -2f, 3f]).RequireGrad();
            var oa = make(a);
            var grads = new[] { new[] { 0.5f, -1f, 2f }, [0.1f, 0.3f, -0.2f], [-0.4f, 0.2f, 0.9f] };
            for (int s = 0; s < 2; s++) { a.Grad = Tensor.FromArray(grads[s]); oa.Step(); }
            var saved = oa.NamedState().ToDictionary(s => s.Name, s => s.State);
            var b = Tensor.FromArray(a.ToArray()).RequireGrad();
            var ob = make(b);
            ob.LoadState(saved, oa.StepCount);
            a.Grad = Tensor.FromArray(grads[2]); oa.Step();
            b.Grad = Tensor.FromArray(grads[2]); ob.Step();
            Assert.Equal(a.ToArray(), b.ToArray());
            Assert.Equal(3, ob.StepCount);
        }
    }

    [Fact]
    public void StateOfAnotherOptimizerIsRejectedByName()
    {
        var w = Tensor.FromArray([1f, 2f]).RequireGrad();
        var adamState = new Adam([w]).NamedState().ToDictionary(s => s.Name, s => s.State);
        Assert.Equal(["m.0", "v.0"], adamState.Keys.Order());
        var e = Assert.Throws<ArgumentException>(() => new Sgd([w], lr: 0.1f, momentum: 0.9f).LoadState(adamState, 1));
        Assert.Contains("m.0", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Adam([w]).LoadState(new Dictionary<string, Tensor> { ["m.0"] = Tensor.Zeros(3), ["v.0"] = Tensor.Zeros(2) }, 1));
        Assert.Contains("'m.0' should hold 2 values but holds 3", e.Message);
    }
}
