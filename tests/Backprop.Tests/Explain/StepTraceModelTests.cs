using Backprop.Explain;
using Backprop.Nn;

namespace Backprop.Tests.Explain;

/// <summary>Step traces of Backprop.Nn models, and the delta formulas of the other activations.</summary>
public sealed class StepTraceModelTests
{
    [Fact]
    public void SeedNetworkAsASequentialGivesTheSeedTrace()
    {
        var d1 = new Dense(4, 2, bias: false);
        var d2 = new Dense(2, 3, bias: false);
        SeedExample.W1().AsSpan().CopyTo(d1.Weight.AsSpan());
        SeedExample.W2().AsSpan().CopyTo(d2.Weight.AsSpan());
        var model = new Sequential(d1, new Sigmoid(), d2, new Sigmoid());

        var trace = StepTrace.ForModel(model, SeedExample.X(), SeedExample.Y());
        var seed = SeedExample.Trace();
        Assert.Equal(seed.Names, trace.Names);
        foreach (var name in seed.Names) Assert.Equal(seed[name].ToArray(), trace[name].ToArray());
        // The model is only read: its weights keep their values and get no gradient.
        Assert.Null(d1.Weight.Grad);
        Assert.Equal(0.7f, d1.Weight[0, 0]);
    }

    [Fact]
    public void MlpWithBiasesAndLinearOutputMatchesTheEnginesOwnBackward()
    {
        var model = Mlp.Create(4, [3], 2, activation: "tanh", rng: new Rng(7));
        var x = SeedExample.X();
        var y = Tensor.FromArray(new float[,] { { 1f, 0f }, { 0f, 1f }, { 0.5f, 0.5f } });
        var trace = StepTrace.ForModel(model, x, y);
        Assert.Equal(
            ["X", "Y", "W1", "b1", "W2", "b2", "H_in", "H_out", "O_in", "O_out", "O_error", "O_delta", "W2_update", "b2_update",
             "H_error", "H_delta", "W1_update", "b1_update"],
            trace.Names);
        Assert.Equal("O_error", trace.Find("O_delta")!.Formula);   // identity output: the delta is the error
        Assert.Equal("H_out·W2 + b2", trace.Find("O_in")!.Formula);

        // The same step the ordinary way: model forward, the seeds' loss, Backward on the model's parameters.
        var e = (model.Forward(x) - y).Square().Sum() / (2f * y.Size);
        e.Backward();
        Assert.Equal(e.Item(), trace.Loss.Item(), 1e-6f);
        var grads = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Grad!.ToArray());
        AssertClose(grads["0.weight"], trace["W1_update"].ToArray());
        AssertClose(grads["0.bias"], trace["b1_update"].ToArray());
        AssertClose(grads["2.weight"], trace["W2_update"].ToArray());
        AssertClose(grads["2.bias"], trace["b2_update"].ToArray());
    }

    [Fact]
    public void SoftmaxAndLeakyReluDeltasFollowTheirFormulas()
    {
        var x = SeedExample.X();
        var layers = new[]
        {
            new TraceLayer(SeedExample.W1(), null, "leaky_relu:0.2"),
            new TraceLayer(SeedExample.W2(), null, "softmax"),
        };
        var trace = StepTrace.ForModel(x, SeedExample.Y(), layers);
        Assert.Equal("O_out ⊙ (O_error − Σ_cols(O_error ⊙ O_out))", trace.Find("O_delta")!.Formula);
        Assert.Equal("H_error ⊙ ([H_in > 0] + 0.2·[H_in ≤ 0])", trace.Find("H_delta")!.Formula);

        // Softmax: delta[r,c] = out[r,c]·(err[r,c] − Σ_k err[r,k]·out[r,k]).
        var o = trace["O_out"].ToMatrix();
        var err = trace["O_error"].ToMatrix();
        var delta = trace["O_delta"].ToMatrix();
        for (int r = 0; r < 3; r++)
        {
            double dot = 0;
            for (int k = 0; k < 3; k++) dot += err[r, k] * o[r, k];
            for (int c = 0; c < 3; c++) Assert.Equal(o[r, c] * (err[r, c] - dot), delta[r, c], 1e-6);
        }
        // Leaky ReLU: delta = error where H_in > 0, 0.2·error elsewhere (H_in[2,1] = 0.47 > 0, W1 col 0 row 1 < 0 ...).
        var hIn = trace["H_in"].ToMatrix();
        var hErr = trace["H_error"].ToMatrix();
        var hDelta = trace["H_delta"].ToMatrix();
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 2; c++) Assert.Equal(hErr[r, c] * (hIn[r, c] > 0 ? 1 : 0.2), hDelta[r, c], 1e-6);
    }

    [Fact]
    public void ModulesATraceCannotExplainAreNamed()
    {
        var early = Assert.Throws<ArgumentException>(() =>
            StepTrace.ForModel(new Sequential(new Sigmoid(), new Dense(4, 3)), SeedExample.X(), SeedExample.Y()));
        Assert.StartsWith("StepTrace: module 1 (Sigmoid) must follow a Dense layer", early.Message);

        var twice = Assert.Throws<ArgumentException>(() =>
            StepTrace.ForModel(new Sequential(new Dense(4, 3), new Sigmoid(), new Tanh()), SeedExample.X(), SeedExample.Y()));
        Assert.StartsWith("StepTrace: module 3 (Tanh) must follow a Dense layer", twice.Message);
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-6f);
    }
}
