using System.Text.Json.Nodes;
using Backprop.Nn;

namespace Backprop.Tests.Nn;

public sealed class LayerTests
{
    [Fact]
    public void DenseComputesXTimesWPlusB()
    {
        var dense = new Dense(2, 3);
        Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f]).AsSpan().CopyTo(dense.Weight.AsSpan());   // W = [[1,2,3],[4,5,6]]
        Tensor.FromArray([0.5f, -1f, 0f]).AsSpan().CopyTo(dense.Bias!.AsSpan());
        var y = dense.Forward(Tensor.FromArray([1f, 1f, 2f, 0f], 2, 2));
        Assert.Equal([5.5f, 6f, 9f, 2.5f, 3f, 6f], y.ToArray());
    }

    [Fact]
    public void DenseShapeErrorNamesLayerAndBothShapes()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => new Dense(784, 128).Forward(Tensor.Zeros(64, 785)));
        Assert.Equal("Dense(784→128) expected input [*, 784] but got [64,785].", e.Message);
    }

    [Fact]
    public void SequentialNamesParametersByPathAndCountsThem()
    {
        var model = new Sequential(new Dense(4, 8), new Tanh(), new Dense(8, 3, bias: false));
        Assert.Equal(["0.weight", "0.bias", "2.weight"], model.NamedParameters().Select(p => p.Name));
        Assert.Equal(4 * 8 + 8 + 8 * 3, model.ParameterCount());
        Assert.Equal("Sequential(Dense(4→8) → Tanh → Dense(8→3, no bias))", model.ToString());
    }

    [Fact]
    public void SpecRoundTripsThroughJson()
    {
        var model = new Sequential(new Dense(4, 8), new LeakyRelu(0.2f), new Dense(8, 2), new Sigmoid());
        var rebuilt = ModuleSpec.Create(JsonNode.Parse(model.ToSpec().ToJsonString()));
        Assert.Equal(model.ToSpec().ToJsonString(), rebuilt.ToSpec().ToJsonString());
        Assert.Throws<FormatException>(() => ModuleSpec.Create(JsonNode.Parse("""{"type":"System.IO.File"}""")));
    }

    [Fact]
    public void SameRngSeedGivesSameInitialWeights()
    {
        var a = new Dense(3, 4, rng: new Rng(5));
        var b = new Dense(3, 4, rng: new Rng(5));
        Assert.Equal(a.Weight.ToArray(), b.Weight.ToArray());
        Assert.All(a.Weight.ToArray(), w => Assert.InRange(w, -1f / MathF.Sqrt(3), 1f / MathF.Sqrt(3)));
    }

    [Fact]
    public void InitializersHaveTheirStatedSpread()
    {
        var w = Tensor.Zeros(400, 100);
        Init.HeNormal(w, 400, 100, new Rng(1));
        var values = w.ToArray();
        double mean = values.Average(), std = Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
        Assert.InRange(mean, -0.005, 0.005);
        Assert.InRange(std, Math.Sqrt(2.0 / 400) * 0.97, Math.Sqrt(2.0 / 400) * 1.03);
        Init.XavierUniform()(w, 400, 100, new Rng(2));
        float bound = MathF.Sqrt(6f / 500);
        Assert.All(w.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.True(w.ToArray().Max() > bound * 0.99f);
    }

    [Fact]
    public void ActivationsByName()
    {
        var x = Tensor.FromArray([-2f, 0.5f], 1, 2);
        Assert.Equal([0f, 0.5f], Activation.Create("relu").Forward(x).ToArray());
        Assert.Equal([-0.4f, 0.5f], Activation.Create("leaky_relu:0.2").Forward(x).ToArray());
        Assert.Equal(1f, Activation.Create("softmax").Forward(x).Sum().Item(), 6);
        Assert.Same(x, Activation.Create("identity").Forward(x));
        var e = Assert.Throws<ArgumentException>(() => Activation.Create("swish"));
        Assert.Contains("sigmoid, tanh, relu", e.Message);
        Assert.Contains("only leaky_relu takes a parameter", Assert.Throws<ArgumentException>(() => Activation.Create("tanh:3")).Message);
    }
}
