using System.Text.Json.Nodes;
using Backprop.Data;
using Backprop.Explain;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Nn;

/// <summary>
/// The sequence layers beyond the PyTorch goldens (ZooReferenceTests): finite differences through whole modules,
/// error messages for wrong inputs, specs and model files, the model language, and training through the graph.
/// </summary>
public sealed class SequenceLayerTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-seq-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    // ---- finite differences through the modules (weights and input together) ----

    public static TheoryData<string> Modules() => ["lstm 2 layers bidirectional", "gru 2 layers", "rnn relu bidirectional", "attention causal", "layernorm", "rmsnorm", "residual"];

    private static (Module Module, Tensor Input) Make(string name)
    {
        var rng = new Rng(7);
        return name switch
        {
            "lstm 2 layers bidirectional" => (new Lstm(3, 3, 2, bidirectional: true, rng: rng), Tensor.RandomNormal([2, 3, 3], rng)),
            "gru 2 layers" => (new Gru(3, 4, 2, rng: rng), Tensor.RandomNormal([2, 4, 3], rng)),
            "rnn relu bidirectional" => (new Rnn(3, 4, 1, "relu", bidirectional: true, rng: rng), Tensor.RandomNormal([2, 3, 3], rng)),
            "attention causal" => (new MultiHeadAttention(6, 2, causal: true, rng: rng), Tensor.RandomNormal([2, 4, 6], rng)),
            "layernorm" => (new LayerNorm(5), Tensor.RandomNormal([3, 2, 5], rng)),
            "rmsnorm" => (new RmsNorm(5, 1e-5f), Tensor.RandomNormal([3, 2, 5], rng)),
            "residual" => (new Residual(new Sequential(new LayerNorm(4), new Gelu())), Tensor.RandomNormal([3, 4], rng)),
            _ => throw new ArgumentException(name),
        };
    }

    [Theory]
    [MemberData(nameof(Modules))]
    public void Module_gradients_match_finite_differences(string name)
    {
        var (module, input) = Make(name);
        // The module's own parameters are among the perturbed leaves, so f reads them through the module.
        var result = GradCheck.Check(x => module.Forward(x[0]), [input, .. module.Parameters()]);
        Assert.True(result.WorstRelativeError < 1e-2, result.ToString());
    }

    // ---- error messages ----

    [Fact]
    public void Wrong_input_shapes_name_the_layer_and_both_shapes()
    {
        Assert.Equal("LSTM(3→4) expected input [batch, seq, 3] (batch first, seq ≥ 1) but got [2,5].",
            Assert.Throws<ShapeMismatchException>(() => new Lstm(3, 4).Forward(Tensor.Zeros(2, 5))).Message);
        Assert.Equal("GRU(3→4, layers=2, bidirectional) expected input [batch, seq, 3] (batch first, seq ≥ 1) but got [2,5,4].",
            Assert.Throws<ShapeMismatchException>(() => new Gru(3, 4, 2, bidirectional: true).Forward(Tensor.Zeros(2, 5, 4))).Message);
        Assert.Equal("RNN(3→4) expected h0 [1,2,4] but got [2,4].",
            Assert.Throws<ShapeMismatchException>(() => new Rnn(3, 4).ForwardWithState(Tensor.Zeros(2, 5, 3), Tensor.Zeros(2, 4))).Message);
        Assert.Equal("GRU(3→4) has no cell state; pass c0 only to an LSTM.",
            Assert.Throws<ArgumentException>(() => new Gru(3, 4).ForwardWithState(Tensor.Zeros(2, 5, 3), null, Tensor.Zeros(1, 2, 4))).Message);
        Assert.Equal("RNN nonlinearity must be 'tanh' or 'relu' but got 'sigmoid'.",
            Assert.Throws<ArgumentException>(() => new Rnn(3, 4, nonlinearity: "sigmoid")).Message);
        Assert.Equal("MultiHeadAttention(8, heads=2, causal) expected input [batch, seq, 8] but got [2,5,6].",
            Assert.Throws<ShapeMismatchException>(() => new MultiHeadAttention(8, 2, causal: true).Forward(Tensor.Zeros(2, 5, 6))).Message);
        Assert.Equal("LayerNorm(6) expected input [*, 6] but got [2,5].",
            Assert.Throws<ShapeMismatchException>(() => new LayerNorm(6).Forward(Tensor.Zeros(2, 5))).Message);
        Assert.Equal("LayerNorm(3×4) expected input [*, 3, 4] but got [2,4,3].",
            Assert.Throws<ShapeMismatchException>(() => new LayerNorm([3, 4]).Forward(Tensor.Zeros(2, 4, 3))).Message);
        Assert.Equal("RMSNorm(6) expected input [*, 6] but got [2,5].",
            Assert.Throws<ShapeMismatchException>(() => new RmsNorm(6).Forward(Tensor.Zeros(2, 5))).Message);
        Assert.Equal("Conv1d(2→3, k3) expected input [N, 2, L] with L ≥ 3 but got [4,2,2].",
            Assert.Throws<ShapeMismatchException>(() => new Conv1d(2, 3, 3).Forward(Tensor.Zeros(4, 2, 2))).Message);
        Assert.Equal("GlobalAvgPool expected input [N, C, ...] with at least one spatial axis but got [2,5].",
            Assert.Throws<ShapeMismatchException>(() => new GlobalAvgPool().Forward(Tensor.Zeros(2, 5))).Message);
        Assert.Equal("Residual(Dense(4→3)) expected its body to keep the input shape [2,4] but it returned [2,3].",
            Assert.Throws<ShapeMismatchException>(() => new Residual(new Dense(4, 3)).Forward(Tensor.Zeros(2, 4))).Message);
    }

    [Fact]
    public void Embedding_refuses_ids_that_are_not_whole_numbers_in_range()
    {
        var e = new Embedding(10, 4);
        Assert.Equal("Embedding(10, 4) expected token ids, whole numbers in [0, 10), but element 1 of input [1,3] is 2.5.",
            Assert.Throws<ArgumentException>(() => e.Forward(Tensor.FromArray([1f, 2.5f, 3f], 1, 3))).Message);
        Assert.Equal("Embedding(10, 4) expected token ids, whole numbers in [0, 10), but element 2 of input [3] is 10.",
            Assert.Throws<ArgumentException>(() => e.Forward(Tensor.FromArray([1f, 2f, 10f]))).Message);
        Assert.Equal("Embedding(10, 4) expected token ids, whole numbers in [0, 10), but element 0 of input [1] is -1.",
            Assert.Throws<ArgumentException>(() => e.Forward(Tensor.FromArray([-1f]))).Message);
        Assert.Equal("Embedding(10, 4) expected token ids in [0, 10) but element 1 of ids [2] is 12.",
            Assert.Throws<ArgumentException>(() => e.Forward(IntTensor.FromArray([3, 12]))).Message);
    }

    [Fact]
    public void Embedding_of_float_ids_equals_embedding_of_int_ids_and_its_gradient_scatters_rows()
    {
        var e = new Embedding(5, 3, new Rng(1));
        var byFloat = e.Forward(Tensor.FromArray([4f, 0f, 4f, 2f], 2, 2));
        var byInt = e.Forward(IntTensor.FromArray([4, 0, 4, 2], 2, 2));
        Assert.Equal([2, 2, 3], byFloat.Shape);
        Assert.Equal(byInt.ToArray(), byFloat.ToArray());
        Assert.Equal(e.Weight.ToArray().AsSpan(12, 3).ToArray(), byFloat.ToArray().AsSpan(0, 3).ToArray());
        byFloat.Sum().Backward();
        Assert.Equal([1f, 1f, 1f, 0f, 0f, 0f, 1f, 1f, 1f, 0f, 0f, 0f, 2f, 2f, 2f], e.Weight.Grad!.ToArray());
    }

    // ---- attention dropout, activations ----

    [Fact]
    public void Attention_dropout_acts_only_while_training()
    {
        var rng = new Rng(3);
        var noDropout = new MultiHeadAttention(8, 2, causal: true, rng: new Rng(5));
        var withDropout = new MultiHeadAttention(8, 2, causal: true, dropout: 0.5f, rng: new Rng(5));
        var x = Tensor.RandomNormal([2, 6, 8], rng);
        var expected = noDropout.Forward(x).ToArray();
        Assert.NotEqual(expected, withDropout.Forward(x).ToArray());
        withDropout.Eval();
        Assert.Equal(expected, withDropout.Forward(x).ToArray());
    }

    [Fact]
    public void Attention_split_over_threads_gives_each_batch_entry_the_bits_it_gets_alone()
    {
        // [3, 64, 3·32] with 4 heads is 12 (entry, head) pairs, enough work to split over every core; one entry alone
        // is 4 pairs split differently. Each pair is computed the same way on whichever thread runs it.
        var qkv = Tensor.RandomNormal([3, 64, 96], new Rng(11));
        var upstream = Tensor.RandomNormal([3, 64, 32], new Rng(12));
        var whole = qkv.Clone();
        whole.RequiresGrad = true;
        var y = Tensor.SelfAttention(whole, 4, causal: true);
        y.Backward(upstream);
        for (int n = 0; n < 3; n++)
        {
            var one = qkv.Narrow(0, n, 1).Clone();
            one.RequiresGrad = true;
            var yn = Tensor.SelfAttention(one, 4, causal: true);
            yn.Backward(upstream.Narrow(0, n, 1).Clone());
            Assert.Equal(y.ToArray().AsSpan(n * 64 * 32, 64 * 32).ToArray(), yn.ToArray());
            Assert.Equal(whole.Grad!.ToArray().AsSpan(n * 64 * 96, 64 * 96).ToArray(), one.Grad!.ToArray());
        }
    }

    [Fact]
    public void Causal_attention_ignores_later_positions()
    {
        var mha = new MultiHeadAttention(4, 2, causal: true, rng: new Rng(2));
        var x = Tensor.RandomNormal([1, 5, 4], new Rng(3));
        var changed = x.Clone();
        changed.AsSpan()[4 * 4 + 1] += 3f;   // position 4 only
        var a = mha.Forward(x).ToArray();
        var b = mha.Forward(changed).ToArray();
        Assert.Equal(a.AsSpan(0, 16).ToArray(), b.AsSpan(0, 16).ToArray());
        Assert.NotEqual(a.AsSpan(16, 4).ToArray(), b.AsSpan(16, 4).ToArray());
    }

    [Theory]
    [InlineData("gelu", "GELU")]
    [InlineData("gelu_tanh", "GELU(tanh)")]
    [InlineData("silu", "SiLU")]
    public void Smooth_activations_are_layers_by_name(string name, string shown)
    {
        var layer = Activation.Create(name);
        Assert.Equal(shown, layer.ToString());
        Assert.Contains(name, Activation.Names);
        var x = Tensor.FromArray([-1.5f, 0.3f, 2f]);
        var expected = name switch { "gelu" => x.Gelu(), "gelu_tanh" => x.Gelu(true), _ => x.Silu() };
        Assert.Equal(expected.ToArray(), layer.Forward(x).ToArray());
        Assert.Equal(name, ModuleSpec.Create(layer.ToSpec()) is Activation a ? a.Name : null);
    }

    // ---- specs and model files ----

    public static TheoryData<string> SpecLayers() =>
        ["embedding", "layernorm", "rmsnorm", "rnn", "lstm", "gru", "attention", "conv1d", "globalavgpool", "residual"];

    private static Module SpecLayer(string name) => name switch
    {
        "embedding" => new Embedding(7, 3),
        "layernorm" => new LayerNorm([2, 3], 1e-3f, elementwiseAffine: false),
        "rmsnorm" => new RmsNorm(3, 1e-6f),
        "rnn" => new Rnn(3, 4, 2, "relu", bias: false),
        "lstm" => new Lstm(3, 4, 2, bidirectional: true, dropout: 0.25f),
        "gru" => new Gru(3, 2, bidirectional: true),
        "attention" => new MultiHeadAttention(6, 3, causal: true, dropout: 0.1f),
        "conv1d" => new Conv1d(3, 5, 2, stride: 2, padding: 1, bias: false),
        "globalavgpool" => new GlobalAvgPool(),
        "residual" => new Residual(new Sequential(new LayerNorm(3), new Silu())),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(SpecLayers))]
    public void Specs_rebuild_the_same_layer(string name)
    {
        var layer = SpecLayer(name);
        var rebuilt = ModuleSpec.Create(JsonNode.Parse(layer.ToSpec().ToJsonString()));
        Assert.Equal(layer.ToString(), rebuilt.ToString());
        Assert.Equal(layer.ToSpec().ToJsonString(), rebuilt.ToSpec().ToJsonString());
        Assert.Equal(layer.NamedParameters().Select(p => (p.Name, string.Join(",", p.Parameter.Shape))),
            rebuilt.NamedParameters().Select(p => (p.Name, string.Join(",", p.Parameter.Shape))));
    }

    [Fact]
    public void A_model_file_restores_a_sequence_model()
    {
        var model = ModelLanguage.Build("embedding(9,8)-layernorm-lstm(6,bidirectional)-attention(3,causal)-rmsnorm-gelu", [5], new Rng(4));
        var path = Path.Combine(dir, "seq.safetensors");
        model.Save(path);
        var (loaded, _) = ModelFile.Load(path);
        var x = Tensor.FromArray([1f, 8f, 0f, 3f, 3f, 2f, 2f, 7f, 5f, 1f], 2, 5);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        Assert.Equal(ModelLanguage.Describe(model), ModelLanguage.Describe(loaded));
    }

    [Fact]
    public void Built_in_names_cannot_be_registered_by_custom_modules()
    {
        var e = Assert.Throws<ArgumentException>(() => ModuleSpec.Register("LSTM", _ => new Identity()));
        Assert.Equal("cannot register Identity as 'LSTM': that is the name of a built-in layer.", e.Message);
    }

    // ---- the model language ----

    [Theory]
    [InlineData("embedding(65,32)-layernorm-lstm(64,layers=2)-gru(32,bidirectional)-attention(4,causal)-rmsnorm-gelu-silu-gelu_tanh", "16")]
    [InlineData("embedding(10,8)-rnn(8,layers=2,dropout=0.1)-attention(2,dropout=0.2)", "6")]
    [InlineData("reshape(1,6,6)-conv(4,3)-globalavgpool-dense(3)", "36")]
    [InlineData("reshape(2,9)-conv1d(4,3,stride=2,pad=1)-conv1d(2,2,bias=false)-flatten-dense(3)", "18")]
    public void Specs_describe_back_to_the_same_text(string spec, string input)
    {
        var model = ModelLanguage.Build(spec, [int.Parse(input, System.Globalization.CultureInfo.InvariantCulture)], new Rng(1));
        Assert.Equal(spec, ModelLanguage.Describe(model));
    }

    [Fact]
    public void Sequence_tokens_build_the_layers_with_inferred_sizes()
    {
        var model = ModelLanguage.Build("embedding(20,8)-lstm(12,layers=2,bidirectional)-layernorm-attention(heads=4,causal)", [7]);
        var layers = model.Layers;
        Assert.Equal("Embedding(20, 8)", layers[0].ToString());
        Assert.Equal("LSTM(8→12, layers=2, bidirectional)", layers[1].ToString());
        Assert.Equal("LayerNorm(24)", layers[2].ToString());
        Assert.Equal("MultiHeadAttention(24, heads=4, causal)", layers[3].ToString());
        var summary = ModelSummary.Of(model, [7]);
        Assert.Equal([7, 24], summary.OutputShape);
        Assert.Equal(20 * 8 + 2 * 24, summary.Rows[0].Parameters + summary.Rows[2].Parameters);
        // two directions, 2 FLOPs per multiply-add, 7 steps, 4·12 gate rows, (input + hidden) columns, per layer
        Assert.Equal(2L * 2 * 7 * (4 * 12) * (8 + 12) + 2L * 2 * 7 * (4 * 12) * (24 + 12), summary.Rows[1].Flops);
    }

    [Theory]
    [InlineData("lstm(8)", "16", "lstm(8) (column 1) cannot be built for input [N, 16]: lstm needs a sequence input [N, T, F] but gets [N, 16]; put embedding(n,dim) or reshape(T,F) before it")]
    [InlineData("embedding(10,8)-attention(3)", "4", "attention(3) (column 17) cannot be built for input [N, 4, 8]: MultiHeadAttention: dim 8 must be a positive multiple of heads 3")]
    [InlineData("embedding(10,8)-attention(2,casual)", "4", "attention(2,casual) (column 17) takes 1 positional argument (heads) but got 2; write attention(heads[,causal][,dropout=p])")]
    [InlineData("embedding(10,8)-gru(4,causal)", "4", "gru(4,causal) (column 17) takes 1 positional argument (hidden) but got 2; write gru(hidden[,layers=n][,bidirectional][,dropout=p])")]
    [InlineData("conv1d(4,3)", "12", "conv1d(4,3) (column 1) cannot be built for input [N, 12]: conv1d needs an input [N, C, L] but gets [N, 12]; put reshape(C,L) before it")]
    [InlineData("embedding(10,8)-lstm(4)-dense(3)", "4", "dense(3) (column 25) needs a flat input [N, F] but gets [N, 4, 4]; put flatten before it")]
    [InlineData("embedding(10,8)-attention(2,causal,causal=false)", "4", "attention(2,causal,causal=false) (column 17): argument 'causal' is given twice")]
    public void Sequence_token_errors_point_at_the_token(string spec, string input, string message)
    {
        var e = Assert.Throws<ModelSpecException>(() => ModelLanguage.Build(spec, [int.Parse(input, System.Globalization.CultureInfo.InvariantCulture)]));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_bare_flag_word_means_true_and_may_follow_named_arguments()
    {
        var a = (MultiHeadAttention)ModelLanguage.Build("embedding(5,4)-attention(heads=2,causal)", [3]).Layers[1];
        Assert.True(a.Causal);
        var b = (Gru)ModelLanguage.Build("embedding(5,4)-gru(3,bidirectional,layers=2)", [3]).Layers[1];
        Assert.True(b.Bidirectional);
        Assert.Equal(2, b.NumLayers);
    }

    // ---- training through the graph ----

    [Fact]
    public void A_sequence_model_trains_through_the_graph_and_the_compiled_step_says_why_not()
    {
        // Each sequence of 6 ids from 4 is labelled by its first id: the LSTM must carry it to the end.
        var rng = new Rng(11);
        const int n = 96, t = 6;
        var ids = new float[n * t];
        var labels = new float[n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < t; j++) ids[i * t + j] = rng.NextInt(4);
            labels[i] = ids[i * t];
        }
        var data = new Dataset(Tensor.FromArray(ids, n, t), Tensor.FromArray(labels), name: "first-token");
        var model = ModelLanguage.Build("embedding(4,8)-lstm(16)-layernorm-flatten-dense(4)", [t], new Rng(12));

        var plan = TrainingPlan.TryCreate(model, Losses.CrossEntropy, data, maxBatch: 32, out var reason);
        Assert.Null(plan);
        Assert.Equal("Embedding(4, 8) at '0' on rows of 6 features is not in the compiled step", reason);

        var history = model.Fit(data, Losses.CrossEntropy, new Adam(model.Parameters(), 0.02f), new FitOptions { Epochs = 25, BatchSize = 32 });
        Assert.Equal(TrainingEngine.Graph, history.Engine);
        Assert.True(history.Last.Loss < 0.3 * history.Epochs[0].Loss, $"loss went from {history.Epochs[0].Loss} to {history.Last.Loss}");
        var predicted = model.Predict(data.Features).ArgMax(-1).ToArray();
        Assert.True(predicted.Zip(labels).Count(p => p.First == p.Second) >= 0.9 * n);
    }

    [Fact]
    public void An_mlp_with_gelu_trains_through_the_graph_and_says_why()
    {
        var data = Datasets.Spirals(60, 3, seed: 2);
        var model = ModelLanguage.Build("dense(16)-gelu-dense(16)-silu-dense(3)", [2], new Rng(3));
        var history = model.Fit(data, Losses.CrossEntropy, new Adam(model.Parameters(), 0.02f), new FitOptions { Epochs = 40, BatchSize = 30 });
        Assert.Equal(TrainingEngine.Graph, history.Engine);
        Assert.Equal("GELU at '1' on rows of 16 features is not in the compiled step", history.EngineReason);
        Assert.True(history.Last.Loss < 0.6 * history.Epochs[0].Loss, $"loss went from {history.Epochs[0].Loss} to {history.Last.Loss}");
    }
}
