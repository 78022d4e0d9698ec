using Backprop.Data;
using Backprop.Generative;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// The compiled step's transposed convolution (ConvTransposeStage) and image models that end in a Flatten under MSE:
/// the same outputs, loss and gradients as the graph for many geometries, frozen parameters left alone, and the
/// convolutional autoencoder trained through the compiled step by <see cref="ReconstructionTrainer"/>.
/// </summary>
public sealed class TrainingPlanConvTransposeTests
{
    // Real-valued targets of the model's output width, so MSE reads every output.
    private static Dataset Regression(int rows, int[] sampleShape, int outputs, int seed)
    {
        var rng = new Rng(seed);
        int features = sampleShape.Aggregate(1, (p, d) => p * d);
        return new Dataset(Tensor.RandomNormal([rows, features], rng), Tensor.RandomUniform([rows, outputs], rng), name: "random")
            .WithSampleShape(sampleShape);
    }

    public static TheoryData<string, int[], string> Models() => new()
    {
        // One channel up to three, stride 2, pad 1, output pad 1, a fused sigmoid (the convae's last layer).
        { "convtranspose(3,3,stride=2,pad=1,outpad=1)-sigmoid-flatten", [1, 4, 4], "mse" },
        // Stride 1 without padding, 3 → 16 → 1 channels, a 2×2 kernel at stride 2 without bias.
        { "convtranspose(16,3)-relu-convtranspose(1,2,stride=2,bias=false)-flatten", [3, 3, 3], "mse" },
        // A convolution down and a transposed one up, tanh after, a Dense at the end, half-MSE.
        { "conv(4,3,stride=2,pad=1)-relu-convtranspose(3,3,stride=2,pad=1,outpad=1)-tanh-flatten-dense(5)", [3, 8, 8], "half_mse" },
        // An activation before (a stage of its own), a 4×4 kernel at stride 3 with output pad 2, a non-square image.
        { "tanh-convtranspose(2,4,stride=3,pad=1,outpad=2)-leaky_relu(0.1)-flatten", [2, 3, 5], "mse" },
        // 16 channels in and out (the vector paths), pad 1 at stride 1, no output padding.
        { "convtranspose(16,3,stride=2,pad=1,outpad=1)-relu-convtranspose(16,3,pad=1,bias=false)-flatten", [16, 4, 4], "mse" },
        // Batch norm and a max pool after a transposed convolution.
        { "convtranspose(4,3,stride=2,bias=false)-batchnorm-relu-maxpool(2)-flatten", [2, 5, 5], "mse" },
        // The convae itself.
        { "conv(16,3,stride=2,pad=1)-relu-conv(32,3,stride=2,pad=1)-relu-convtranspose(16,3,stride=2,pad=1,outpad=1)-relu-convtranspose(1,3,stride=2,pad=1,outpad=1)-sigmoid-flatten", [1, 28, 28], "mse" },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void TheStepGivesTheGraphsLossAndEveryGradient(string spec, int[] sampleShape, string lossName)
    {
        var loss = Losses.ByName(lossName);
        var graphModel = ModelLanguage.Build(spec, sampleShape, new Rng(4));
        var planModel = ModelLanguage.Build(spec, sampleShape, new Rng(4));
        int outputs = ModelLanguage.OutputShape(graphModel, [sampleShape.Aggregate(1, (p, d) => p * d)])[0];
        var data = Regression(30, sampleShape, outputs, seed: 8);
        int[] rows = [.. new Rng(2).Permutation(30)[..17]];

        var expected = TrainingPlanTests.Autograd(graphModel, loss, data, rows);
        var plan = TrainingPlan.TryCreate(planModel, loss, data, maxBatch: 20, out var reason);
        Assert.True(plan is not null, reason);
        var (lossSum, correct) = plan.Step(data, rows);

        TrainingPlanTests.AssertStepMatches(spec, expected, lossSum, correct, planModel);
        // MSE's gradients are small (2(a − t)/(n·k)); each must also agree to 1e-4 of its parameter's largest one.
        var parameters = planModel.Parameters();
        for (int p = 0; p < parameters.Count; p++)
        {
            var got = parameters[p].Grad!.ToArray();
            float scale = expected.Grads[p].Max(MathF.Abs);
            Assert.True(scale > 0, $"{spec}: parameter {p} has no gradient");
            for (int i = 0; i < got.Length; i++)
                Assert.True(Math.Abs(got[i] - expected.Grads[p][i]) <= 1e-4 * scale,
                    $"{spec}: parameter {p}, element {i}: plan {got[i]} vs autograd {expected.Grads[p][i]} (largest {scale})");
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void TheCompiledForwardGivesTheGraphsOutputs(string spec, int[] sampleShape, string lossName)
    {
        _ = lossName;
        var model = ModelLanguage.Build(spec, sampleShape, new Rng(6));
        int features = sampleShape.Aggregate(1, (p, d) => p * d);
        var x = Tensor.RandomNormal([9, features], new Rng(7));
        var predictor = new Predictor(model);
        Assert.True(predictor.IsCompiled, predictor.FallbackReason);
        var got = predictor.Predict(x).ToArray();
        float[] expected;
        using (InferenceMode.Enter()) expected = model.Forward(x).ToArray();
        Assert.Equal(expected.Length, got.Length);
        for (int i = 0; i < got.Length; i++)
            Assert.True(Math.Abs(got[i] - expected[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"{spec}: output {i}: plan {got[i]} vs graph {expected[i]}");
    }

    [Fact]
    public void AFrozenTransposedConvolutionGetsNoGradientButPassesOneThrough()
    {
        const string spec = "conv(4,3,stride=2,pad=1)-relu-convtranspose(2,3,stride=2,pad=1,outpad=1)-sigmoid-flatten";
        int[] shape = [1, 6, 6];
        var data = Regression(20, shape, 72, seed: 3);
        int[] rows = [.. Enumerable.Range(0, 20)];
        var graphModel = ModelLanguage.Build(spec, shape, new Rng(1));
        var planModel = ModelLanguage.Build(spec, shape, new Rng(1));
        foreach (var m in new[] { graphModel, planModel })
        {
            var up = (ConvTranspose2d)((Sequential)m).Layers[3];
            up.Weight.RequiresGrad = false;
            up.Bias!.RequiresGrad = false;
        }
        graphModel.ZeroGrad();
        Losses.MSE.Compute(graphModel.Forward(data.Features), data.Targets).Backward();
        var plan = TrainingPlan.TryCreate(planModel, Losses.MSE, data, 20, out var reason);
        Assert.True(plan is not null, reason);
        plan.Step(data, rows);

        var expected = graphModel.Parameters();
        var got = planModel.Parameters();
        Assert.Null(got[2].Grad);
        Assert.Null(got[3].Grad);
        for (int p = 0; p < 2; p++)   // the convolution under it trains on the gradient it passes through
        {
            var e = expected[p].Grad!.ToArray();
            var g = got[p].Grad!.ToArray();
            float scale = e.Max(MathF.Abs);
            for (int i = 0; i < e.Length; i++) Assert.True(Math.Abs(e[i] - g[i]) <= 1e-4 * scale, $"parameter {p}[{i}]: plan {g[i]} vs graph {e[i]}");
        }

        // Trained on the compiled engine, the frozen layer keeps its values and the rest moves.
        var model = AutoencoderPreset.Parse("convae:channels=4").Build([1, 8, 8], new Rng(1));
        var last = (ConvTranspose2d)((Sequential)model).Layers[^3];
        last.Weight.RequiresGrad = false;
        var before = model.Parameters().Select(p => p.ToArray()).ToList();
        var result = ReconstructionTrainer.Train(model, Squares(64, 1), null, new ReconstructionOptions { Epochs = 2, Batch = 16, Engine = TrainingEngine.Compiled });
        Assert.Equal(TrainingEngine.Compiled, result.Engine);
        var after = model.Parameters();
        for (int p = 0; p < after.Count; p++)
        {
            if (ReferenceEquals(after[p], last.Weight)) Assert.Equal(before[p], after[p].ToArray());
            else Assert.NotEqual(before[p], after[p].ToArray());
        }
    }

    [Fact]
    public void ASharedTransposedConvolutionGetsItsGradientSummedOverItsUses()
    {
        // Size-keeping (k 3, pad 1, stride 1), so the one layer runs twice; a strided one before it.
        var up = new ConvTranspose2d(2, 2, 3, padding: 1, rng: new Rng(5));
        var model = new Sequential(new Reshape(1, 4, 4), new ConvTranspose2d(1, 2, 3, stride: 2, padding: 1, outputPadding: 1, rng: new Rng(6)),
            new Relu(), up, new Tanh(), up, new Sigmoid(), new Flatten());
        var data = Regression(12, [1, 4, 4], 128, seed: 6);
        int[] rows = [.. Enumerable.Range(0, 12)];
        var expected = TrainingPlanTests.Autograd(model, Losses.MSE, data, rows);
        var plan = TrainingPlan.TryCreate(model, Losses.MSE, data, maxBatch: 12, out var reason);
        Assert.True(plan is not null, reason);
        model.ZeroGrad();
        var (lossSum, correct) = plan.Step(data, rows);
        Assert.Equal(4, model.Parameters().Count);
        TrainingPlanTests.AssertStepMatches("shared", expected, lossSum, correct, model);
        for (int p = 0; p < 4; p++)
        {
            var got = model.Parameters()[p].Grad!.ToArray();
            float scale = expected.Grads[p].Max(MathF.Abs);
            for (int i = 0; i < got.Length; i++)
                Assert.True(Math.Abs(got[i] - expected.Grads[p][i]) <= 1e-4 * scale, $"parameter {p}[{i}]: plan {got[i]} vs graph {expected.Grads[p][i]}");
        }
    }

    [Fact]
    public void AnImageOutputNeedsAFlattenAndCrossEntropyADense()
    {
        var images = Regression(10, [1, 4, 4], 16, seed: 1);
        var unflattened = ModelLanguage.Build("convtranspose(1,3,pad=1)", [1, 4, 4]);
        Assert.Null(TrainingPlan.TryCreate(unflattened, Losses.MSE, images, 8, out var image));
        Assert.Equal("the model ends on an image [1, 4, 4], but the compiled step's loss takes rows (end it with a Flatten)", image);

        var labels = new Dataset(images.Features, Tensor.FromArray([.. Enumerable.Range(0, 10).Select(i => (float)(i % 2))]), name: "labels").WithSampleShape(1, 4, 4);
        var flat = ModelLanguage.Build("convtranspose(1,1)-flatten", [1, 4, 4]);
        Assert.Null(TrainingPlan.TryCreate(flat, Losses.CrossEntropy, labels, 8, out var crossEntropy));
        Assert.Equal("the model ends with Flatten at '2', but the compiled step for cross_entropy must end with a Dense layer", crossEntropy);
    }

    private static Tensor Squares(int n, int seed) => Backprop.Tests.Generative.ReconstructionTests.Squares(n, seed);

    [Fact]
    public void TheConvaeTrainsOnTheCompiledStepAsItDoesOnTheGraph()
    {
        var train = Squares(256, 1);
        var test = Squares(64, 2);

        (ReconstructionResult Result, Module Model) Run(TrainingEngine engine)
        {
            var model = AutoencoderPreset.Parse("convae:channels=4").Build([1, 8, 8], new Rng(1));
            var seen = new List<(TrainingEngine, string?)>();
            var result = ReconstructionTrainer.Train(model, train, test, new ReconstructionOptions
            {
                Epochs = 4, Batch = 32, LearningRate = 1e-2f, Seed = 3, Engine = engine, OnStart = (e, why) => seen.Add((e, why)),
            });
            Assert.Equal([(result.Engine, result.EngineReason)], seen);
            return (result, model);
        }

        // Auto picks the compiled step for the convae; a fall-back to the graph fails here.
        var (compiled, compiledModel) = Run(TrainingEngine.Auto);
        Assert.Equal(TrainingEngine.Compiled, compiled.Engine);
        Assert.Null(compiled.EngineReason);
        var (graph, graphModel) = Run(TrainingEngine.Graph);
        Assert.Equal(TrainingEngine.Graph, graph.Engine);
        Assert.Equal("the graph was asked for (Engine = Graph)", graph.EngineReason);

        // The same rows in the same order and the same gradients: the same losses and weights, to float rounding.
        for (int e = 0; e < 4; e++)
        {
            Assert.Equal(graph.Epochs[e].TrainLoss, compiled.Epochs[e].TrainLoss, 1e-4 * graph.Epochs[e].TrainLoss);
            Assert.Equal(graph.Epochs[e].Test!.Mse, compiled.Epochs[e].Test!.Mse, 1e-4 * graph.Epochs[e].Test!.Mse);
        }
        Assert.True(compiled.Epochs[^1].Test!.Mse < compiled.Epochs[0].Test!.Mse / 2,
            $"test MSE {compiled.Epochs[0].Test!.Mse} → {compiled.Epochs[^1].Test!.Mse}");
        var a = compiledModel.Parameters();
        var b = graphModel.Parameters();
        for (int p = 0; p < a.Count; p++)
        {
            var x = a[p].ToArray();
            var y = b[p].ToArray();
            for (int i = 0; i < x.Length; i++) Assert.True(Math.Abs(x[i] - y[i]) <= 1e-4, $"parameter {p}[{i}]: {x[i]} vs {y[i]}");
        }
    }

    [Fact]
    public void ADecoderThatEndsOnAnImageTrainsOnTheCompiledStepAsOnTheGraph()
    {
        // No flatten: the trainer reshapes [N, 2, 8, 8] to the input's rows, and so does the plan (two channels, so
        // that the channels-last order differs from the rows').
        const string spec = "conv(4,3,stride=2,pad=1)-relu-convtranspose(2,3,stride=2,pad=1,outpad=1)-sigmoid";
        var train = Tensor.RandomUniform([64, 128], new Rng(3));
        var results = new[] { TrainingEngine.Compiled, TrainingEngine.Graph }.Select(engine =>
        {
            var model = ModelLanguage.Build(spec, [2, 8, 8], new Rng(2));
            var result = ReconstructionTrainer.Train(model, train, null, new ReconstructionOptions { Epochs = 2, Batch = 16, Engine = engine });
            Assert.Equal(engine, result.Engine);
            return (result, model.Parameters().Select(p => p.ToArray()).ToArray());
        }).ToArray();
        for (int e = 0; e < 2; e++)
            Assert.Equal(results[1].result.Epochs[e].TrainLoss, results[0].result.Epochs[e].TrainLoss, 1e-5 * results[1].result.Epochs[e].TrainLoss);
        for (int p = 0; p < results[0].Item2.Length; p++)
            for (int i = 0; i < results[0].Item2[p].Length; i++)
                Assert.True(Math.Abs(results[0].Item2[p][i] - results[1].Item2[p][i]) <= 1e-5, $"parameter {p}[{i}]");
    }

    [Fact]
    public void AVaeTrainsOnTheGraphAndSaysWhyAndCompiledRefusesIt()
    {
        var train = Squares(32, 1);
        var result = ReconstructionTrainer.Train(Vae.Mlp(64, 8, 2, new Rng(1)), train, null, new ReconstructionOptions { Epochs = 1, Batch = 16 });
        Assert.Equal(TrainingEngine.Graph, result.Engine);
        Assert.Equal("a VAE's objective (BCE + KL with z sampled) is not in the compiled step", result.EngineReason);

        var e = Assert.Throws<InvalidOperationException>(() => ReconstructionTrainer.Train(Vae.Mlp(64, 8, 2, new Rng(1)), train, null,
            new ReconstructionOptions { Epochs = 1, Engine = TrainingEngine.Compiled }));
        Assert.Equal("Engine = Compiled, but the compiled step cannot train this model: a VAE's objective (BCE + KL with z sampled) is not in the compiled step. " +
            "Use Engine = Auto to train it through the autograd graph.", e.Message);

        // A layer outside the compiled step (upsample) falls back to the graph, naming it.
        var upsampled = ModelLanguage.Build("conv(2,3,stride=2,pad=1)-relu-upsample(2)-conv(1,3,pad=1)-sigmoid-flatten", [1, 8, 8], new Rng(1));
        var graph = ReconstructionTrainer.Train(upsampled, train, null, new ReconstructionOptions { Epochs = 1, Batch = 16 });
        Assert.Equal(TrainingEngine.Graph, graph.Engine);
        Assert.Contains("Upsample", graph.EngineReason);
    }
}

/// <summary>
/// The transposed convolution's chunks and partial sums are fixed by the layer and the batch, so its step gives the
/// same bits on one thread and on several.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class TrainingPlanConvTransposeThreadCountTests
{
    [Theory]
    [InlineData(64)]
    [InlineData(70)]
    public void TheConvaeStepGivesTheSameBitsOnOneThreadAndOnSeveral(int batch)
    {
        var rng = new Rng(3);
        var pixels = Tensor.RandomUniform([batch, 784], rng);
        var data = new Dataset(pixels, pixels, name: "images");
        int[] rows = [.. Enumerable.Range(0, batch)];
        int[] partial = [.. Enumerable.Range(0, batch - 7)];

        (double Loss, float[][] Grads)[] Run(int threads)
        {
            var model = AutoencoderPreset.Parse("convae").Build([1, 28, 28], new Rng(4));
            var plan = TrainingPlan.TryCreate(model, Losses.MSE, data, batch, out var reason);
            Assert.True(plan is not null, reason);
            plan.Threads = threads;
            var full = plan.Step(data, rows);
            var fullGrads = model.Parameters().Select(p => p.Grad!.ToArray()).ToArray();
            var part = plan.Step(data, partial);   // a smaller last batch uses fewer chunks
            return [(full.LossSum, fullGrads), (part.LossSum, [.. model.Parameters().Select(p => p.Grad!.ToArray())])];
        }

        var one = Run(1);
        Assert.All(one[0].Grads, g => Assert.Contains(g, v => v != 0f));
        foreach (int threads in new[] { 2, 3, 8 })
        {
            var many = Run(threads);
            for (int s = 0; s < one.Length; s++)
            {
                Assert.Equal(one[s].Loss, many[s].Loss);
                for (int p = 0; p < one[s].Grads.Length; p++) Assert.Equal(one[s].Grads[p], many[s].Grads[p]);
            }
        }
    }

    [Fact]
    public void ASteadyStateConvaeStepAllocatesNothing()
    {
        var pixels = Tensor.RandomUniform([32, 784], new Rng(5));
        var data = new Dataset(pixels, pixels, name: "images");
        var model = AutoencoderPreset.Parse("convae").Build([1, 28, 28], new Rng(4));
        var plan = TrainingPlan.TryCreate(model, Losses.MSE, data, 32, out var reason);
        Assert.True(plan is not null, reason);
        plan.Threads = 4;
        int[] rows = [.. Enumerable.Range(0, 32)];
        for (int i = 0; i < 3; i++) plan.Step(data, rows);
        Action step = () => plan.Step(data, rows);
        for (int i = 0; i < 30; i++) Assert.Equal(0, AllocationCount.Of(step));
    }
}
