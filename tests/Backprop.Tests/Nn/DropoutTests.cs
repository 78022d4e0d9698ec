using System.Text.Json.Nodes;
using Backprop.Nn;

namespace Backprop.Tests.Nn;

/// <summary>
/// Dropout cannot match PyTorch's random stream, so it is tested by exact properties: evaluation is the identity,
/// training keeps x·(1/(1 − p)) or 0, the gradient is the same mask times upstream, the dropped fraction is
/// binomial, and the masks are reproducible from seeds and generator states.
/// </summary>
public sealed class DropoutTests
{
    /// <summary>Inputs in [1, 2): never 0, so a 0 in the output can only be a dropped element.</summary>
    private static Tensor Input(int n, int seed) => Tensor.RandomUniform([n / 10, 10], seed, 1f, 2f);

    [Fact]
    public void EvaluationModeReturnsTheInputItself()
    {
        var dropout = new Dropout(0.5f, new Rng(1));
        dropout.Eval();
        var x = Input(40, 2);
        var state = dropout.Generator.State;
        Assert.Same(x, dropout.Forward(x));
        Assert.Equal(state, dropout.Generator.State);   // nothing drawn
    }

    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.3f)]
    [InlineData(0.5f)]
    [InlineData(0.9f)]
    public void TrainingKeepsScaledValuesOrZeroAndGradientUsesTheSameMask(float p)
    {
        var dropout = new Dropout(p, new Rng(7));
        var x = Input(1000, 3).RequireGrad();
        var y = dropout.Forward(x);
        var g = Tensor.RandomNormal([100, 10], 4);
        y.Backward(g);

        float keep = 1f / (1f - p);
        var (xs, ys, gs, dx) = (x.ToArray(), y.ToArray(), g.ToArray(), x.Grad!.ToArray());
        int dropped = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            if (ys[i] == 0f)
            {
                dropped++;
                Assert.Equal(0f, dx[i]);
            }
            else
            {
                Assert.Equal(xs[i] * keep, ys[i]);
                Assert.Equal(gs[i] * keep, dx[i]);
            }
        }
        Assert.InRange(dropped, 1, xs.Length - 1);
        Assert.Equal("dropout", y.Op);
    }

    [Fact]
    public void DroppedFractionIsWithinFiveSigmaOfPOnOneHundredThousandValues()
    {
        const int n = 100_000;
        foreach (var p in new[] { 0.2f, 0.5f, 0.75f })
        {
            var y = new Dropout(p, new Rng(11)).Forward(Input(n, 5)).ToArray();
            int dropped = y.Count(v => v == 0f);
            double sigma = Math.Sqrt(n * p * (1 - p));
            Assert.InRange(dropped, n * p - 5 * sigma, n * p + 5 * sigma);
        }
    }

    [Fact]
    public void SameSeedGivesSameMaskAndRestoredStateRepeatsIt()
    {
        var x = Input(200, 6);
        var a = new Dropout(0.4f, new Rng(42)).Forward(x).ToArray();
        Assert.Equal(a, new Dropout(0.4f, new Rng(42)).Forward(x).ToArray());
        Assert.NotEqual(a, new Dropout(0.4f, new Rng(43)).Forward(x).ToArray());

        // What a checkpoint does: save the generator's state, and a resumed layer draws the same next mask.
        var layer = new Dropout(0.4f, new Rng(42));
        layer.Forward(x);
        var state = layer.Generator.State;
        var next = layer.Forward(x).ToArray();
        Assert.NotEqual(a, next);
        var resumed = new Dropout(0.4f, new Rng(0));
        resumed.Generator.State = state;
        Assert.Equal(next, resumed.Forward(x).ToArray());

        // Without a generator: seeded from Init.DefaultRng, so ManualSeed makes the masks reproducible.
        Init.ManualSeed(9);
        var b = new Dropout(0.4f).Forward(x).ToArray();
        Init.ManualSeed(9);
        Assert.Equal(b, new Dropout(0.4f).Forward(x).ToArray());
    }

    [Fact]
    public void ZeroProbabilityIsTheIdentity()
    {
        var dropout = new Dropout(0f, new Rng(1));
        var x = Input(30, 7).RequireGrad();
        Assert.Same(x, dropout.Forward(x));
    }

    [Theory]
    [InlineData(1f, "1")]
    [InlineData(-0.1f, "-0.1")]
    [InlineData(float.NaN, "NaN")]
    public void ProbabilityOutsideZeroToOneIsAnErrorNamingTheValue(float p, string shown)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(p));
        Assert.StartsWith($"Dropout expected a probability p in [0, 1) but got {shown}.", e.Message);
        var op = Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Zeros(2).Dropout(p, new Rng(1)));
        Assert.StartsWith($"dropout probability must be in [0, 1) but got {shown}.", op.Message);
    }

    [Fact]
    public void GeneratorIsNamedSpecAndTextRoundTrip()
    {
        var model = new Sequential(new Dense(3, 4, rng: new Rng(1)), new Dropout(0.3f, new Rng(2)), new Dense(4, 2, rng: new Rng(3)));
        var (name, generator) = Assert.Single(model.NamedGenerators());
        Assert.Equal("1.generator", name);
        Assert.Same(((Dropout)model.Layers[1]).Generator, generator);
        Assert.Empty(model.NamedBuffers());
        Assert.Equal("Sequential(Dense(3→4) → Dropout(p=0.3) → Dense(4→2))", model.ToString());
        var rebuilt = (Sequential)ModuleSpec.Create(JsonNode.Parse(model.ToSpec().ToJsonString()));
        Assert.Equal(0.3f, ((Dropout)rebuilt.Layers[1]).P);
        Assert.Equal(model.ToSpec().ToJsonString(), rebuilt.ToSpec().ToJsonString());
        Assert.Equal(0.5f, ((Dropout)ModuleSpec.Create(JsonNode.Parse("""{"type":"Dropout"}"""))).P);
        Assert.Throws<FormatException>(() => ModuleSpec.Create(JsonNode.Parse("""{"type":"Dropout","p":1}""")));
    }
}
