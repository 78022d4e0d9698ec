using Backprop.Nn;
using Backprop.Optim;

namespace Backprop.Tests.Optim;

/// <summary>Parameter groups: defaults, the decay split, shared rates, state and the errors a user meets.</summary>
public sealed class ParameterGroupTests
{
    [Fact]
    public void AGroupTakesTheOptimizersSettingsItLeavesOut()
    {
        var a = Tensor.FromArray([1f, 2f]).RequireGrad();
        var b = Tensor.FromArray([3f]).RequireGrad();
        var sgd = new Sgd([new ParameterGroup([a]) { LearningRate = 0.5f }, new ParameterGroup([b])], lr: 0.1f, weightDecay: 0.25f);
        Assert.Equal([0.5f, 0.1f], sgd.Groups.Select(g => g.LearningRate));
        Assert.Equal([0.25f, 0.25f], sgd.Groups.Select(g => g.WeightDecay));
        a.Grad = Tensor.FromArray([1f, 1f]);
        b.Grad = Tensor.FromArray([1f]);
        sgd.Step();
        // w − α·(g + λw): a: 1 − 0.5·1.25 = 0.375, 2 − 0.5·1.5 = 1.25; b: 3 − 0.1·1.75 = 2.825.
        Assert.Equal([0.375f, 1.25f], a.ToArray());
        Assert.Equal(2.825f, b.Item(), 6);
    }

    [Fact]
    public void SettingTheOptimizersRateSetsEveryGroup()
    {
        var adam = new Adam([new ParameterGroup([Tensor.Zeros(2).RequireGrad()]) { LearningRate = 0.5f }, new ParameterGroup([Tensor.Zeros(1).RequireGrad()])], lr: 0.1f);
        Assert.Equal(0.5f, adam.LearningRate);
        adam.LearningRate = 0.2f;
        Assert.Equal([0.2f, 0.2f], adam.Groups.Select(g => g.LearningRate));
        adam.Groups[1].LearningRate = 0.3f;
        Assert.Equal([0.2f, 0.3f], adam.Groups.Select(g => g.LearningRate));
        Assert.Null(new Adam([Tensor.Zeros(1).RequireGrad()]).Groups.Single().Settings);
    }

    [Fact]
    public void SplitDecayExemptsBiasesAndNorms()
    {
        var model = new Sequential(new Dense(4, 3), new BatchNorm1d(3), new Relu(), new Dense(3, 2));
        var groups = ParameterGroup.SplitDecay(model, 0.05f);
        var names = model.NamedParameters().ToDictionary(p => p.Parameter, p => p.Name);
        Assert.Equal(["0.weight", "3.weight"], groups[0].Parameters.Select(p => names[p]));
        Assert.Equal(["0.bias", "1.weight", "1.bias", "3.bias"], groups[1].Parameters.Select(p => names[p]));
        Assert.Equal([0.05f, 0f], groups.Select(g => g.WeightDecay!.Value));
        var custom = ParameterGroup.SplitDecay(model, 0.1f, (name, _) => name.StartsWith("3.", StringComparison.Ordinal));
        Assert.Equal(["3.weight", "3.bias"], custom[1].Parameters.Select(p => names[p]));
        var adamw = new AdamW(groups, lr: 0.01f);
        Assert.Equal(model.ParameterCount(), adamw.Parameters.Sum(p => p.Size));
        Assert.Equal([0.05f, 0f], adamw.Groups.Select(g => g.WeightDecay));
    }

    [Fact]
    public void NoDecayGroupIsNotDecayed()
    {
        // AdamW with a zero gradient moves W only through its decay: W·(1 − α·λ) in the decay group, unchanged in the other.
        var w = Tensor.FromArray([2f]).RequireGrad();
        var bias = Tensor.FromArray([2f]).RequireGrad();
        var adamw = new AdamW([new ParameterGroup([w]) { WeightDecay = 0.5f }, new ParameterGroup([bias]) { WeightDecay = 0f }], lr: 0.1f);
        w.Grad = Tensor.Zeros(1);
        bias.Grad = Tensor.Zeros(1);
        adamw.Step();
        Assert.Equal(2f * (1f - 0.1f * 0.5f), w.Item());
        Assert.Equal(2f, bias.Item());
    }

    [Fact]
    public void MistakesAreNamed()
    {
        var w = Tensor.FromArray([1f]).RequireGrad();
        w.Name = "fc.weight";
        var e = Assert.Throws<ArgumentException>(() => new Adam([new ParameterGroup([w]), new ParameterGroup([w])]));
        Assert.Equal("a parameter 'fc.weight' is in parameter groups 0 and 1; each tensor may be in one group only. (Parameter 'groups')", e.Message);
        var lr = Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([new ParameterGroup([w]) { LearningRate = -1f }]));
        Assert.StartsWith("parameter group 0: the learning rate must be a positive number but got -1.", lr.Message);
        var nesterov = Assert.Throws<ArgumentException>(() => new Sgd([new ParameterGroup([w]) { Momentum = 0f }], momentum: 0.9f, nesterov: true));
        Assert.StartsWith("parameter group 0: Nesterov momentum needs momentum > 0.", nesterov.Message);
        var beta = Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([new ParameterGroup([w]) { Beta2 = 1f }]));
        Assert.StartsWith("parameter group 0: adam β₂ must be in [0, 1) but is 1; 0.999 is usual.", beta.Message);
        var decay = Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([new ParameterGroup([w]) { WeightDecay = -0.1f }]));
        Assert.StartsWith("parameter group 0: adamw weight decay must be a finite number ≥ 0 but is -0.1.", decay.Message);
        Assert.Equal("the optimizer got no parameters to update. (Parameter 'groups')",
            Assert.Throws<ArgumentException>(() => new Adam([new ParameterGroup([]), new ParameterGroup([])])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([w]).Groups[0].LearningRate = 0f);
    }

    [Fact]
    public void SavedStateWithGroupsContinuesTheSameTrajectory()
    {
        Optimizer Make(Tensor a, Tensor b) => new Sgd([new ParameterGroup([a]) { LearningRate = 0.2f, Momentum = 0.5f }, new ParameterGroup([b])], lr: 0.05f, momentum: 0.9f);
        var (a1, b1) = (Tensor.FromArray([1f, -1f]).RequireGrad(), Tensor.FromArray([2f]).RequireGrad());
        var o1 = Make(a1, b1);
        for (int s = 0; s < 2; s++) { a1.Grad = Tensor.FromArray([0.5f, s]); b1.Grad = Tensor.FromArray([1f - s]); o1.Step(); }
        var (a2, b2) = (Tensor.FromArray(a1.ToArray()).RequireGrad(), Tensor.FromArray(b1.ToArray()).RequireGrad());
        var o2 = Make(a2, b2);
        o2.LoadState(o1.NamedState().ToDictionary(s => s.Name, s => s.State), o1.StepCount);
        foreach (var (a, b, o) in new[] { (a1, b1, o1), (a2, b2, o2) }) { a.Grad = Tensor.FromArray([0.1f, 0.3f]); b.Grad = Tensor.FromArray([-2f]); o.Step(); }
        Assert.Equal(a1.ToArray(), a2.ToArray());
        Assert.Equal(b1.ToArray(), b2.ToArray());
    }
}
