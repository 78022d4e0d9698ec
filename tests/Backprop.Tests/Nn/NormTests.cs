using System.Text.Json;
using System.Text.Json.Nodes;
using Backprop.Explain;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Tests.Golden;
using Backprop.Training;

namespace Backprop.Tests.Nn;

/// <summary>
/// BatchNorm1d/2d against PyTorch (Golden/torch_norm.json, from tools/make_norm_reference.py): training outputs,
/// gradients and running statistics over several steps, then evaluation mode; the fused backward against finite
/// differences; errors, specs, model files and the inference plan.
/// </summary>
public sealed class NormTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-norm-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static readonly Lazy<JsonElement> Reference = new(() => GoldenFile.Load("torch_norm.json"));

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Reference.Value.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    private static JsonElement Case(string name) =>
        Reference.Value.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static Tensor ToTensor(JsonElement e) =>
        Tensor.FromArray(e.GetProperty("data").Floats(), [.. e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32())]);

    private static GoldenTensor Expected(JsonElement e) => new(
        [.. e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32())],
        [.. e.GetProperty("data").EnumerateArray().Select(v => v.GetDouble())]);

    /// <summary>The layer a reference case describes, with its γ and β.</summary>
    private static BatchNorm Build(JsonElement c)
    {
        int features = c.GetProperty("features").GetInt32();
        float eps = c.GetProperty("eps").GetSingle(), momentum = c.GetProperty("momentum").GetSingle();
        bool affine = c.GetProperty("affine").GetBoolean();
        BatchNorm layer = c.GetProperty("layer").GetString() == "BatchNorm2d"
            ? new BatchNorm2d(features, eps, momentum, affine)
            : new BatchNorm1d(features, eps, momentum, affine);
        if (affine)
        {
            c.GetProperty("weight").GetProperty("data").Floats().CopyTo(layer.Weight!.AsSpan());
            c.GetProperty("bias").GetProperty("data").Floats().CopyTo(layer.Bias!.AsSpan());
        }
        return layer;
    }

    /// <summary>
    /// One forward and backward pass compared with PyTorch (float64). Measured worst absolute errors over all cases:
    /// output 2.0e-6, ∂L/∂x 1.4e-6, ∂L/∂γ 1.7e-6, ∂L/∂β 4.9e-7 (values of order 1 to 20), so 1e-5 absolute (or
    /// relative, whichever is larger) keeps a 5× margin and still fails a gradient that drops a term (errors of 0.1+).
    /// </summary>
    private static void CheckPass(BatchNorm layer, JsonElement pass, string what)
    {
        var x = ToTensor(pass.GetProperty("input")).RequireGrad();
        layer.ZeroGrad();
        var y = layer.Forward(x);
        y.Backward(ToTensor(pass.GetProperty("r")));
        GoldenAssert.Close(Expected(pass.GetProperty("output")), y, 1e-5, 1e-5, $"{what} output");
        GoldenAssert.Close(Expected(pass.GetProperty("grad_input")), x.Grad!, 1e-5, 1e-5, $"{what} ∂L/∂x");
        if (layer.Affine)
        {
            GoldenAssert.Close(Expected(pass.GetProperty("grad_weight")), layer.Weight!.Grad!, 1e-5, 1e-5, $"{what} ∂L/∂γ");
            GoldenAssert.Close(Expected(pass.GetProperty("grad_bias")), layer.Bias!.Grad!, 1e-5, 1e-5, $"{what} ∂L/∂β");
        }
        else Assert.Equal(JsonValueKind.Null, pass.GetProperty("grad_weight").ValueKind);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorchInTrainingThenEvaluation(string name)
    {
        var c = Case(name);
        var layer = Build(c);
        int step = 0;
        foreach (var pass in c.GetProperty("steps").EnumerateArray())
        {
            step++;
            CheckPass(layer, pass, $"{name} step {step}");
            // Measured worst errors: running_mean 9.5e-8, running_var 4.1e-7.
            GoldenAssert.Close(Expected(pass.GetProperty("running_mean")), layer.RunningMean, 1e-5, 1e-6, $"{name} step {step} running_mean");
            GoldenAssert.Close(Expected(pass.GetProperty("running_var")), layer.RunningVar, 1e-5, 1e-6, $"{name} step {step} running_var");
            Assert.Equal(pass.GetProperty("num_batches_tracked").GetInt32(), layer.NumBatchesTracked.Item());
        }
        layer.Eval();
        var runningMean = layer.RunningMean.ToArray();
        CheckPass(layer, c.GetProperty("eval"), $"{name} eval");
        Assert.Equal(runningMean, layer.RunningMean.ToArray());   // evaluation never moves the statistics
        Assert.Equal(step, layer.NumBatchesTracked.Item());
    }

    [Fact]
    public void FusedBackwardMatchesFiniteDifferences()
    {
        var bn1 = new BatchNorm1d(4);
        Tensor.RandomUniform([4], 3, 0.5f, 2f).AsSpan().CopyTo(bn1.Weight!.AsSpan());
        Tensor.RandomNormal([4], 4).AsSpan().CopyTo(bn1.Bias!.AsSpan());
        var x1 = Tensor.RandomNormal([6, 4], 5, std: 2f);
        var train1d = GradCheck.Check(p => bn1.Forward(p[0]), x1, bn1.Weight, bn1.Bias);
        Assert.True(train1d.WorstRelativeError < 1e-2, $"BatchNorm1d training: {train1d}");

        var bn2 = new BatchNorm2d(3);
        Tensor.RandomUniform([3], 6, 0.5f, 2f).AsSpan().CopyTo(bn2.Weight!.AsSpan());
        var x2 = Tensor.RandomNormal([2, 3, 3, 2], 7);
        var train2d = GradCheck.Check(p => bn2.Forward(p[0]), x2, bn2.Weight, bn2.Bias!);
        Assert.True(train2d.WorstRelativeError < 1e-2, $"BatchNorm2d training: {train2d}");

        bn2.Eval();
        var eval2d = GradCheck.Check(p => bn2.Forward(p[0]), x2, bn2.Weight, bn2.Bias!);
        Assert.True(eval2d.WorstRelativeError < 1e-3, $"BatchNorm2d evaluation: {eval2d}");
        Assert.Equal(2 * 3 * 3 * 2 + 3 + 3, eval2d.ElementsChecked);
    }

    [Fact]
    public void TrainingNormalisesEachChannelToMeanZeroAndUnitBiasedVariance()
    {
        var bn = new BatchNorm2d(2);
        var x = Tensor.RandomNormal([3, 2, 4, 4], 11, mean: 5f, std: 3f);
        var y = bn.Forward(x).ToArray();
        for (int c = 0; c < 2; c++)
        {
            var values = Enumerable.Range(0, 3).SelectMany(n => y.Skip((n * 2 + c) * 16).Take(16)).Select(v => (double)v).ToArray();
            double mean = values.Average(), variance = values.Average(v => (v - mean) * (v - mean));
            Assert.InRange(mean, -1e-6, 1e-6);
            // var(x̂) = σ²/(σ² + ε), a hair below 1.
            Assert.InRange(variance, 1 - 2e-5, 1 + 1e-6);
        }
    }

    [Fact]
    public void BatchOfOneWhileTrainingIsAClearError()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => new BatchNorm1d(4).Forward(Tensor.Zeros(1, 4)));
        Assert.Equal("BatchNorm1d(4) expected more than 1 value per channel when training but got input [1,4]; use batches of 2 or more, or call Eval().", e.Message);
        Assert.Throws<ShapeMismatchException>(() => new BatchNorm2d(3).Forward(Tensor.Zeros(1, 3, 1, 1)));
        var functional = Assert.Throws<ShapeMismatchException>(() => Tensor.BatchNorm(Tensor.Zeros(1, 4), null, null, null, null, training: true));
        Assert.Contains("more than 1 value per channel", functional.Message);

        var bn = new BatchNorm1d(4);
        bn.Eval();
        Assert.Equal(new float[4], bn.Forward(Tensor.Zeros(1, 4)).ToArray());   // evaluation: fine, running statistics
        Assert.Equal(0f, bn.NumBatchesTracked.Item());
    }

    [Fact]
    public void ShapeErrorsNameTheLayerAndBothShapes()
    {
        var e1 = Assert.Throws<ShapeMismatchException>(() => new BatchNorm1d(8).Forward(Tensor.Zeros(4, 7)));
        Assert.Equal("BatchNorm1d(8) expected input [N, 8] or [N, 8, L] but got [4,7].", e1.Message);
        var e2 = Assert.Throws<ShapeMismatchException>(() => new BatchNorm2d(32).Forward(Tensor.Zeros(4, 32, 5)));
        Assert.Equal("BatchNorm2d(32) expected input [N, 32, H, W] but got [4,32,5].", e2.Message);
        var e3 = Assert.Throws<ShapeMismatchException>(() => Tensor.BatchNorm(Tensor.Zeros(4, 3), null, null, Tensor.Ones(4), null, training: true));
        Assert.Equal("batch_norm: weight should have shape [3] for input [4,3] but has [4].", e3.Message);
        var e4 = Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNorm1d(0));
        Assert.Contains("BatchNorm1d expected a positive number of features but got 0", e4.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNorm2d(3, momentum: 1.5f));
    }

    [Fact]
    public void NamesParametersAndBuffersAsPyTorch()
    {
        var model = new Sequential(new Dense(3, 4, rng: new Rng(1)), new BatchNorm1d(4), new BatchNorm2d(2, affine: false));
        Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias"], model.NamedParameters().Select(p => p.Name));
        Assert.Equal(["1.running_mean", "1.running_var", "1.num_batches_tracked", "2.running_mean", "2.running_var", "2.num_batches_tracked"],
            model.NamedBuffers().Select(b => b.Name));
        var bn = (BatchNorm1d)model.Layers[1];
        Assert.Equal([1f, 1f, 1f, 1f], bn.Weight!.ToArray());
        Assert.Equal(new float[4], bn.Bias!.ToArray());
        Assert.Equal(new float[4], bn.RunningMean.ToArray());
        Assert.Equal([1f, 1f, 1f, 1f], bn.RunningVar.ToArray());
        Assert.Equal(0, bn.NumBatchesTracked.Rank);   // a float32 scalar, like PyTorch's int64 scalar
        Assert.Empty(model.NamedGenerators());
    }

    [Fact]
    public void ToStringAndSpecRoundTrip()
    {
        var model = new Sequential(new BatchNorm1d(8), new BatchNorm2d(32), new BatchNorm1d(3, eps: 1e-3f, momentum: 0.3f, affine: false));
        Assert.Equal("Sequential(BatchNorm1d(8) → BatchNorm2d(32) → BatchNorm1d(3, eps=0.001, momentum=0.3, affine=false))", model.ToString());
        var rebuilt = (Sequential)ModuleSpec.Create(JsonNode.Parse(model.ToSpec().ToJsonString()));
        Assert.Equal(model.ToString(), rebuilt.ToString());
        Assert.Equal(model.ToSpec().ToJsonString(), rebuilt.ToSpec().ToJsonString());
        var last = (BatchNorm1d)rebuilt.Layers[2];
        Assert.Equal((1e-3f, 0.3f, false), (last.Eps, last.Momentum, last.Affine));
        var bad = Assert.Throws<FormatException>(() => ModuleSpec.Create(JsonNode.Parse("""{"type":"BatchNorm2d","channels":-2}""")));
        Assert.Contains("positive number of features but got -2", bad.Message);
    }

    [Fact]
    public void SaveThenLoadRestoresRunningStatisticsAndEvalOutputs()
    {
        var model = new Sequential(new Dense(4, 6, rng: new Rng(1)), new BatchNorm1d(6), new Relu(), new Dense(6, 3, rng: new Rng(2)));
        var rng = new Rng(3);
        for (int i = 0; i < 3; i++) model.Forward(Tensor.RandomNormal([8, 4], rng, mean: 1f, std: 2f));
        var path = Path.Combine(dir, "bn.safetensors");
        model.Save(path);
        var (loaded, _) = ModelFile.Load(path);

        var saved = model.NamedBuffers().ToDictionary(b => b.Name, b => b.Buffer.ToArray());
        Assert.Equal(3f, saved["1.num_batches_tracked"].Single());
        Assert.NotEqual(new float[6], saved["1.running_mean"]);
        foreach (var (name, buffer) in loaded.NamedBuffers()) Assert.Equal(saved[name], buffer.ToArray());

        var x = Tensor.RandomNormal([5, 4], rng);
        var expected = model.Predict(x).ToArray();
        Assert.Equal(expected, loaded.Predict(x).ToArray());
        // A fresh model's running statistics (0, 1) would give other outputs: the loaded ones are really used.
        var fresh = (Sequential)ModuleSpec.Create(model.ToSpec());
        foreach (var ((_, p), (_, q)) in model.NamedParameters().Zip(fresh.NamedParameters())) p.AsSpan().CopyTo(q.AsSpan());
        Assert.NotEqual(expected, fresh.Predict(x).ToArray());
    }

    [Fact]
    public void PredictorFoldsBatchNormAndSkipsDropout()
    {
        var model = new Sequential(new BatchNorm1d(5), new Dense(5, 7, rng: new Rng(1)), new BatchNorm1d(7), new Relu(), new Dropout(0.3f),
            new Dense(7, 3, rng: new Rng(2)), new BatchNorm1d(3, affine: false), new Tanh());
        var rng = new Rng(4);
        foreach (var (_, p) in model.NamedParameters()) Tensor.RandomNormal([.. p.Shape], rng).AsSpan().CopyTo(p.AsSpan());
        for (int i = 0; i < 4; i++) model.Forward(Tensor.RandomNormal([16, 5], rng, mean: 2f, std: 3f));

        var predictor = new Predictor(model);
        Assert.True(predictor.IsCompiled, predictor.FallbackReason);
        Assert.Equal((5, 3), (predictor.InFeatures, predictor.OutFeatures));
        var x = Tensor.RandomNormal([4, 5], rng, mean: 2f, std: 3f);
        var input = x.ToArray();
        // The same kernels in the same order as the graph's evaluation-mode ops: bit for bit.
        var expected = CompiledForwardTests.Graph(model, x).ToArray();
        Assert.Equal(expected, predictor.Predict(x).ToArray());
        Assert.Equal(input, x.ToArray());   // the leading BatchNorm never writes the caller's input

        // Live statistics: a later training step changes the predictor's next result as it changes the graph's.
        model.Train();
        model.Forward(Tensor.RandomNormal([16, 5], rng, mean: -4f));
        var after = CompiledForwardTests.Graph(model, x).ToArray();
        Assert.NotEqual(expected, after);
        Assert.Equal(after, predictor.Predict(x).ToArray());
    }

    [Fact]
    public void PredictorFallsBackForBatchNorm2dOnRowsAndMismatchedWidths()
    {
        var p1 = new Predictor(new Sequential(new Dense(4, 3), new BatchNorm2d(3)));
        Assert.Contains("BatchNorm2d(3) at '1' on rows of 3 features is not in the compiled step", p1.FallbackReason);
        var p2 = new Predictor(new Sequential(new Dense(4, 3), new BatchNorm1d(5)));
        Assert.Contains("BatchNorm1d(5) at '1' on rows of 3 features is not in the compiled step", p2.FallbackReason);
        Assert.Throws<ShapeMismatchException>(() => p2.Predict(Tensor.Zeros(2, 4)));
    }
}
