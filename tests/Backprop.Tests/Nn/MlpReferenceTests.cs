using System.Text.Json;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Tests.Golden;

namespace Backprop.Tests.Nn;

/// <summary>A whole training step of Dense → Tanh → Dense with cross-entropy, against PyTorch.</summary>
public sealed class MlpReferenceTests
{
    private static readonly JsonElement Step = GoldenFile.Load("torch_optim.json").GetProperty("mlp_step");

    private static Sequential Model()
    {
        var model = new Sequential(new Dense(4, 5), new Tanh(), new Dense(5, 3));
        var weights = Step.GetProperty("weights");
        foreach (var (name, p) in model.NamedParameters()) weights.GetProperty(name).Floats().CopyTo(p.AsSpan());
        return model;
    }

    private static void AssertClose(float[] expected, ReadOnlySpan<float> actual, double rel, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= rel * Math.Max(Math.Abs(expected[i]), 1e-3),
                $"{what}[{i}]: {actual[i]} vs torch {expected[i]}");
    }

    [Fact]
    public void ForwardLossGradientsAndAdamStepMatchPyTorch()
    {
        var model = Model();
        var x = Tensor.FromArray(Step.GetProperty("x").Floats(), 6, 4);
        var y = Tensor.FromArray(Step.GetProperty("y").Floats());
        var logits = model.Forward(x);
        var loss = Losses.CrossEntropy.Compute(logits, y);
        AssertClose(Step.GetProperty("logits").Floats(), logits.AsSpan(), 1e-5, "logits");
        Assert.Equal(Step.GetProperty("loss").GetSingle(), loss.Item(), 1e-5f);

        loss.Backward();
        foreach (var (name, p) in model.NamedParameters())
            AssertClose(Step.GetProperty("gradients").GetProperty(name).Floats(), p.Grad!.AsSpan(), 1e-4, name + ".grad");

        new Adam(model.Parameters(), lr: 0.01f).Step();
        foreach (var (name, p) in model.NamedParameters())
            AssertClose(Step.GetProperty("after_adam_step").GetProperty(name).Floats(), p.AsSpan(), 1e-5, name);
    }
}
