using System.Text.Json;
using Backprop.Nn;
using Backprop.Tests.Golden;

namespace Backprop.Tests.Nn;

/// <summary>
/// Embedding, LayerNorm, RMSNorm, RNN, LSTM, GRU, multi-head attention, Conv1d, ConvTranspose2d and Upsample against PyTorch (Golden/torch_zoo.json,
/// from tools/make_zoo_reference.py): PyTorch's state dict loads by name with strict checking (so names, layouts and
/// gate orders agree), then outputs must agree to 1e-5 and ∂L/∂(input, h0, c0, every parameter) to 1e-4 for
/// L = Σ output ⊙ R (+ Σ h_n ⊙ R_h + Σ c_n ⊙ R_c where the case has states).
/// </summary>
public sealed class ZooReferenceTests
{
    private static readonly Lazy<JsonElement> Reference = new(() => GoldenFile.Load("torch_zoo.json"));

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Reference.Value.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    private static JsonElement Case(string name) =>
        Reference.Value.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static int[] ShapeOf(JsonElement e) => [.. e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32())];

    private static Tensor ToTensor(JsonElement e) => Tensor.FromArray(e.GetProperty("data").Floats(), ShapeOf(e));

    private static GoldenTensor Expected(JsonElement e) => new(ShapeOf(e), [.. e.GetProperty("data").EnumerateArray().Select(v => v.GetDouble())]);

    private static Module Build(JsonElement c)
    {
        var a = c.GetProperty("args");
        int I(string k) => a.GetProperty(k).GetInt32();
        bool B(string k) => a.GetProperty(k).GetBoolean();
        return c.GetProperty("layer").GetString() switch
        {
            "Embedding" => new Embedding(I("num"), I("dim")),
            "LayerNorm" => new LayerNorm([.. a.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32())], a.GetProperty("eps").GetSingle(), B("affine")),
            "RMSNorm" => new RmsNorm(I("dim"), a.GetProperty("eps").ValueKind == JsonValueKind.Null ? null : a.GetProperty("eps").GetSingle()),
            "RNN" => new Rnn(I("input"), I("hidden"), I("layers"), a.TryGetProperty("nonlinearity", out var nl) ? nl.GetString()! : "tanh", bidirectional: B("bidirectional")),
            "LSTM" => new Lstm(I("input"), I("hidden"), I("layers"), bidirectional: B("bidirectional")),
            "GRU" => new Gru(I("input"), I("hidden"), I("layers"), bidirectional: B("bidirectional")),
            "MultiHeadAttention" => new MultiHeadAttention(I("dim"), I("heads"), B("causal")),
            "Conv1d" => new Conv1d(I("in"), I("out"), I("kernel"), I("stride"), I("padding")),
            "ConvTranspose2d" => new ConvTranspose2d(I("in"), I("out"), I("kernel"), I("stride"), I("padding"), I("output_padding"), B("bias")),
            "Upsample" => new Upsample(I("scale"), Upsample.ParseMode(a.GetProperty("mode").GetString()!)!.Value),
            var other => throw new InvalidOperationException($"unknown layer {other}"),
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_pytorch_values_and_gradients(string name)
    {
        var c = Case(name);
        var layer = Build(c);
        var state = c.GetProperty("params").EnumerateObject().ToDictionary(p => p.Name, p => ToTensor(p.Value));
        layer.LoadStateDict(state);   // strict: every PyTorch name exists here with the same shape, and nothing else

        var inputs = c.GetProperty("inputs");
        var given = inputs.EnumerateObject().Where(p => p.Name != "ids").ToDictionary(p => p.Name, p => ToTensor(p.Value).RequireGrad());
        Tensor output, loss;
        if (layer is Embedding embedding)
        {
            var ids = inputs.GetProperty("ids");
            output = embedding.Forward(IntTensor.FromArray([.. ids.GetProperty("data").EnumerateArray().Select(v => (int)v.GetDouble())], ShapeOf(ids)));
            loss = (output * ToTensor(c.GetProperty("r"))).Sum();
        }
        else if (layer is Recurrent rnn && c.TryGetProperty("state", out var st))
        {
            var result = rnn.ForwardWithState(given["x"], given["h0"], given.GetValueOrDefault("c0"));
            output = result.Output;
            loss = (output * ToTensor(c.GetProperty("r"))).Sum() + (result.Hidden * ToTensor(st.GetProperty("r_h"))).Sum();
            GoldenAssert.Close(Expected(st.GetProperty("h_n")), result.Hidden, 1e-5, 1e-5, $"{name} h_n");
            if (st.TryGetProperty("c_n", out var cn))
            {
                GoldenAssert.Close(Expected(cn), result.Cell!, 1e-5, 1e-5, $"{name} c_n");
                loss += (result.Cell! * ToTensor(st.GetProperty("r_c"))).Sum();
            }
        }
        else
        {
            output = layer.Forward(given["x"]);
            loss = (output * ToTensor(c.GetProperty("r"))).Sum();
        }
        GoldenAssert.Close(Expected(c.GetProperty("output")), output, 1e-5, 1e-5, $"{name} output");

        loss.Backward();
        var parameters = layer.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        foreach (var g in c.GetProperty("grads").EnumerateObject())
        {
            var t = given.TryGetValue(g.Name, out var input) ? input : parameters[g.Name];
            Assert.True(t.Grad is not null, $"{name}: no gradient reached {g.Name}");
            GoldenAssert.Close(Expected(g.Value), t.Grad!, 1e-4, 1e-4, $"{name} ∂L/∂{g.Name}");
        }
    }

    [Fact]
    public void Every_layer_kind_has_a_reference_case()
    {
        var layers = Reference.Value.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("layer").GetString()).ToHashSet();
        Assert.Superset(layers, new HashSet<string?> { "Embedding", "LayerNorm", "RMSNorm", "RNN", "LSTM", "GRU", "MultiHeadAttention", "Conv1d", "ConvTranspose2d", "Upsample" });
    }
}
