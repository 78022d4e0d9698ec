using System.Text.Json;
using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Tests.Golden;
using Backprop.Training;

namespace Backprop.Tests.Optim;

/// <summary>
/// GradClip against PyTorch's clip_grad_norm_ / clip_grad_value_ (the "clip" section of Golden/torch_losses.json,
/// from tools/make_loss_reference.py), its choice of gradients, and clipping inside Fit on both engines.
/// </summary>
public sealed class GradClipTests
{
    private static readonly Lazy<JsonElement> Reference = new(() => GoldenFile.Load("torch_losses.json"));

    public static TheoryData<string> Cases => [.. Reference.Value.GetProperty("clip").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void ClippingMatchesPyTorch(string name)
    {
        var c = Reference.Value.GetProperty("clip").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var parameters = c.GetProperty("grads").EnumerateArray().Select(g =>
        {
            var shape = g.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
            var p = Tensor.Zeros(shape).RequireGrad();
            p.Grad = Tensor.FromArray(g.GetProperty("data").Floats(), shape);
            return p;
        }).ToList();
        if (c.GetProperty("kind").GetString() == "norm")
        {
            float total = GradClip.ByNorm(parameters, c.GetProperty("max_norm").GetSingle());
            double expected = c.GetProperty("total_norm").GetDouble();
            Assert.True(Math.Abs(total - expected) <= 1e-5 * expected, $"total norm {total}, expected {expected}");
        }
        else GradClip.ByValue(parameters, c.GetProperty("clip_value").GetSingle());
        var clipped = c.GetProperty("clipped").EnumerateArray().ToList();
        for (int i = 0; i < parameters.Count; i++)
        {
            var e = clipped[i];
            GoldenAssert.Close(new GoldenTensor([.. e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32())],
                [.. e.GetProperty("data").EnumerateArray().Select(d => d.GetDouble())]), parameters[i].Grad!, 1e-5, 1e-7, $"{name} gradient {i}");
        }
    }

    [Fact]
    public void ATensorListedTwiceCountsOnceAndFrozenOrGradlessOnesAreLeftOut()
    {
        var a = Tensor.Zeros([2]).RequireGrad();
        a.Grad = Tensor.FromArray([3f, 4f], 2);          // norm 5
        var frozen = Tensor.Zeros([1]).RequireGrad();
        frozen.Grad = Tensor.FromArray([100f], 1);       // a stale gradient the optimizer would not apply
        frozen.RequiresGrad = false;
        var none = Tensor.Zeros([3]).RequireGrad();      // no gradient yet
        float total = GradClip.ByNorm([a, a, frozen, none], 1f);
        Assert.Equal(5f, total, 6);
        Assert.Equal(3f / (5f + 1e-6f), a.Grad.ToArray()[0], 6);
        Assert.Equal(4f / (5f + 1e-6f), a.Grad.ToArray()[1], 6);
        Assert.Equal(100f, frozen.Grad.ToArray()[0]);
        Assert.Null(none.Grad);

        GradClip.ByValue([a, frozen], 0.7f);
        Assert.Equal([0.6f, 0.7f], a.Grad.ToArray().Select(v => MathF.Round(v, 6)));
        Assert.Equal(100f, frozen.Grad.ToArray()[0]);
    }

    [Fact]
    public void ANormUnderTheLimitLeavesTheGradientsBitForBit()
    {
        var p = Tensor.Zeros([3]).RequireGrad();
        p.Grad = Tensor.FromArray([0.1f, -0.2f, 0.3f], 3);
        var before = p.Grad.ToArray();
        Assert.Equal(MathF.Sqrt(0.14f), GradClip.ByNorm([p], 1f), 6);
        Assert.Equal(before, p.Grad.ToArray());
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void LimitsMustBePositive(float bad)
    {
        var p = Tensor.Zeros([1]).RequireGrad();
        Assert.StartsWith($"the largest gradient norm must be a positive number but is {bad}.",
            Assert.Throws<ArgumentOutOfRangeException>(() => GradClip.ByNorm([p], bad)).Message);
        Assert.StartsWith($"the gradient clip value must be a positive number but is {bad}.",
            Assert.Throws<ArgumentOutOfRangeException>(() => GradClip.ByValue([p], bad)).Message);
        Assert.StartsWith($"ClipGradNorm must be a positive number but is {bad}.",
            Assert.Throws<ArgumentOutOfRangeException>(() => new FitOptions { Epochs = 1, ClipGradNorm = bad }).Message);
        Assert.StartsWith($"ClipGradValue must be a positive number but is {bad}.",
            Assert.Throws<ArgumentOutOfRangeException>(() => new FitOptions { Epochs = 1, ClipGradValue = bad }).Message);
    }

    [Theory]
    [InlineData(0.05f, null)]
    [InlineData(null, 0.01f)]
    [InlineData(0.2f, 0.02f)]
    public void FitClipsTheSameOnBothEngines(float? maxNorm, float? clipValue)
    {
        var data = Datasets.Spirals(30, 3, seed: 7);

        Module Train(TrainingEngine engine, float? norm, float? value)
        {
            var model = new Sequential(new Dense(2, 12, rng: new Rng(1)), new Tanh(), new Dense(12, 3, rng: new Rng(2)));
            var history = model.Fit(data, Losses.CrossEntropy, new Sgd(model.Parameters(), 0.5f), new FitOptions
            {
                Epochs = 4, BatchSize = 16, Seed = 3, Engine = engine, ClipGradNorm = norm, ClipGradValue = value,
            });
            Assert.Equal(engine, history.Engine);
            return model;
        }

        var compiled = Train(TrainingEngine.Compiled, maxNorm, clipValue).Parameters();
        var graph = Train(TrainingEngine.Graph, maxNorm, clipValue).Parameters();
        var unclipped = Train(TrainingEngine.Graph, null, null).Parameters();
        double engineGap = 0, clipEffect = 0;
        for (int p = 0; p < compiled.Count; p++)
        {
            var (x, y, z) = (compiled[p].ToArray(), graph[p].ToArray(), unclipped[p].ToArray());
            for (int i = 0; i < x.Length; i++)
            {
                engineGap = Math.Max(engineGap, Math.Abs(x[i] - y[i]));
                clipEffect = Math.Max(clipEffect, Math.Abs(y[i] - z[i]));
            }
        }
        Assert.True(engineGap <= 1e-5, $"the engines' weights differ by {engineGap}");
        Assert.True(clipEffect > 1e-2, $"clipping changed the weights by only {clipEffect}: it did not bite");
    }

    [Fact]
    public void FitsClippedStepIsTheManualLoopsClippedStep()
    {
        // One full-batch SGD step: W − lr·clip(∇W) computed by hand must equal Fit's step with ClipGradNorm.
        var data = Datasets.Spirals(10, 2, seed: 9);
        Sequential Model() => new(new Dense(2, 4, rng: new Rng(3)), new Relu(), new Dense(4, 2, rng: new Rng(4)));
        var manual = Model();
        var loss = Losses.CrossEntropy.Compute(manual.Forward(data.Features), data.Targets);
        loss.Backward();
        float total = GradClip.ByNorm(manual.Parameters(), 0.1f);
        Assert.True(total > 0.1f, $"the gradient norm {total} is under the limit, so the test would not test clipping");
        new Sgd(manual.Parameters(), 1f).Step();

        foreach (var engine in new[] { TrainingEngine.Compiled, TrainingEngine.Graph })
        {
            var fitted = Model();
            fitted.Fit(data, Losses.CrossEntropy, new Sgd(fitted.Parameters(), 1f),
                new FitOptions { Epochs = 1, BatchSize = data.Count, Engine = engine, ClipGradNorm = 0.1f });
            var (a, b) = (manual.Parameters(), fitted.Parameters());
            for (int p = 0; p < a.Count; p++)
            {
                var (x, y) = (a[p].ToArray(), b[p].ToArray());
                for (int i = 0; i < x.Length; i++) Assert.True(Math.Abs(x[i] - y[i]) <= 1e-6, $"{engine}: parameter {p}[{i}] {y[i]}, expected {x[i]}");
            }
        }
    }
}
