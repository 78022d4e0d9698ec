using System.Text.Json.Nodes;
using Backprop.Data;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// A layer used more than once: listed once by <see cref="Module.NamedParameters"/>, stepped once by an optimizer,
/// given the sum of its uses' gradients by both engines, kept by checkpoints and refused by model files.
/// </summary>
public sealed class WeightSharingTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-share-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static readonly Dataset Spirals = Datasets.Spirals(100, 3, seed: 1);

    // api.md's reproduction: Dense(2,8) → Tanh → shared Dense(8,8) → Tanh → shared → Tanh → Dense(8,3).
    private static (Sequential Model, Dense Shared) SharedModel()
    {
        var shared = new Dense(8, 8, rng: new Rng(2));
        var model = new Sequential(new Dense(2, 8, rng: new Rng(1)), new Tanh(), shared, new Tanh(), shared, new Tanh(), new Dense(8, 3, rng: new Rng(3)));
        return (model, shared);
    }

    // ∂(mean loss)/∂p through the autograd graph on rows of data, for every parameter.
    private static float[][] GraphGradients(Module model, ILoss loss, Dataset data)
    {
        model.ZeroGrad();
        loss.Compute(model.Forward(data.Features), data.Targets).Backward();
        return [.. model.Parameters().Select(p => p.Grad!.ToArray())];
    }

    private static void AssertClose(float[] expected, float[] actual, double relative, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= relative * Math.Max(1, Math.Abs(expected[i])),
                $"{what}[{i}]: expected {expected[i]} but got {actual[i]}");
    }

    [Fact]
    public void NamedParametersListASharedLayerOnceUnderItsFirstPath()
    {
        var (model, shared) = SharedModel();
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"], model.NamedParameters().Select(p => p.Name));
        Assert.Same(shared.Weight, model.Parameters()[2]);
        Assert.Equal(2 * 8 + 8 + 8 * 8 + 8 + 8 * 3 + 3, model.ParameterCount());
    }

    [Fact]
    public void AModelSummaryCountsASharedLayerOnceInItsTotal()
    {
        var (model, _) = SharedModel();
        var summary = ModelSummary.Of(model, [2]);
        Assert.Equal(8 * 8 + 8, summary.Rows[4].Parameters);
        Assert.Equal(model.ParameterCount(), summary.TotalParameters);
    }

    [Fact]
    public void BuffersAndGeneratorsOfASharedLayerAreListedOnce()
    {
        var norm = new BatchNorm1d(4);
        var drop = new Dropout(0.5f, new Rng(1));
        var model = new Sequential(norm, drop, new Dense(4, 4, rng: new Rng(1)), norm, drop);
        Assert.Equal(["0.running_mean", "0.running_var", "0.num_batches_tracked"], model.NamedBuffers().Select(b => b.Name));
        Assert.Equal(["1.generator"], model.NamedGenerators().Select(g => g.Name));
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias"], model.NamedParameters().Select(p => p.Name));
    }

    [Fact]
    public void AnOptimizerGivenATensorTwiceStepsItOnce()
    {
        var w = Tensor.FromArray([1f, 2f]).RequireGrad();
        var sgd = new Sgd([w, w], lr: 0.5f);
        Assert.Single(sgd.Parameters);
        w.Grad = Tensor.FromArray([1f, 1f]);
        sgd.Step();
        Assert.Equal([0.5f, 1.5f], w.ToArray());
    }

    [Theory]
    [InlineData(TrainingEngine.Compiled)]
    [InlineData(TrainingEngine.Graph)]
    public void OneFullBatchSgdStepOnASharedLayerIsTheSumOfItsUsesGradients(TrainingEngine engine)
    {
        // The expected update is w − 0.1·∂E/∂w with ∂E/∂w from one Backward() over the whole set, in which the
        // graph adds the shared layer's two contributions.
        var (reference, _) = SharedModel();
        var grads = GraphGradients(reference, Losses.CrossEntropy, Spirals);
        var expected = reference.Parameters().Select((p, i) => p.ToArray().Zip(grads[i], (w, g) => w + g * -0.1f).ToArray()).ToList();

        var (model, _) = SharedModel();
        var history = model.Fit(Spirals, Losses.CrossEntropy, new Sgd(model.Parameters(), lr: 0.1f),
            new FitOptions { Epochs = 1, BatchSize = Spirals.Count, Engine = engine });

        Assert.Equal(engine, history.Engine);
        var parameters = model.Parameters();
        Assert.Equal(6, parameters.Count);
        for (int p = 0; p < parameters.Count; p++) AssertClose(expected[p], parameters[p].ToArray(), 1e-6, $"parameter {p}");
    }

    [Fact]
    public void ThePlanSumsASharedDenseLayersGradientOverItsUses()
    {
        var (model, shared) = SharedModel();
        var batch = Spirals.Take(64);
        var expected = GraphGradients(model, Losses.CrossEntropy, batch);
        var plan = TrainingPlan.TryCreate(model, Losses.CrossEntropy, batch, maxBatch: 64, out var reason);
        Assert.True(plan is not null, reason);
        model.ZeroGrad();
        plan.Step(batch, [.. Enumerable.Range(0, 64)]);
        var parameters = model.Parameters();
        for (int p = 0; p < parameters.Count; p++) AssertClose(expected[p], parameters[p].Grad!.ToArray(), 1e-5, $"gradient {p}");

        // A second step writes the gradient afresh: it does not pile onto the first.
        plan.Step(batch, [.. Enumerable.Range(0, 64)]);
        AssertClose(expected[2], shared.Weight.Grad!.ToArray(), 1e-5, "second step's shared weight gradient");
    }

    [Fact]
    public void ASteadyStatePlanStepWithASharedAndAFrozenLayerAllocatesNothing()
    {
        var (model, _) = SharedModel();
        ((Dense)model.Layers[0]).Weight.RequiresGrad = false;
        var data = Datasets.Spirals(64 * 3, 2, seed: 5);
        var head = new Sequential(model, new Dense(3, 2, rng: new Rng(4)));
        var adam = new Adam(head.Parameters(), 1e-3f);
        FitOptions Options(int epochs) => new() { Epochs = epochs, BatchSize = 64, Engine = TrainingEngine.Compiled };
        long b0 = GC.GetAllocatedBytesForCurrentThread();
        head.Fit(data, Losses.CrossEntropy, adam, Options(1));
        long b1 = GC.GetAllocatedBytesForCurrentThread();
        head.Fit(data, Losses.CrossEntropy, adam, Options(2));
        long b2 = GC.GetAllocatedBytesForCurrentThread();
        long perStep = ((b2 - b1) - (b1 - b0)) / 6;
        Assert.True(perStep < 1024, $"a training step allocated {perStep} bytes");
    }

    [Fact]
    public void ThePlanSumsASharedConvolutionsGradientOverItsUses()
    {
        var rng = new Rng(4);
        var data = new Dataset(Tensor.RandomNormal([12, 16], rng), Tensor.FromArray([.. Enumerable.Range(0, 12).Select(i => (float)(i % 3))]), name: "random");
        var conv = new Conv2d(2, 2, 3, padding: 1, rng: new Rng(5));
        var model = new Sequential(new Reshape(1, 4, 4), new Conv2d(1, 2, 3, padding: 1, rng: new Rng(6)), new Relu(),
            conv, new Tanh(), conv, new Relu(), new Flatten(), new Dense(32, 3, rng: new Rng(7)));
        var expected = GraphGradients(model, Losses.CrossEntropy, data);
        var plan = TrainingPlan.TryCreate(model, Losses.CrossEntropy, data, maxBatch: 12, out var reason);
        Assert.True(plan is not null, reason);
        model.ZeroGrad();
        plan.Step(data, [.. Enumerable.Range(0, 12)]);
        var parameters = model.Parameters();
        Assert.Equal(6, parameters.Count);
        for (int p = 0; p < parameters.Count; p++) AssertClose(expected[p], parameters[p].Grad!.ToArray(), 1e-5, $"gradient {p}");
    }

    [Fact]
    public void ACheckpointOfASharedModelResumesToTheUninterruptedWeights()
    {
        FitOptions Options(int epochs, bool resume) => new()
        {
            Epochs = epochs, BatchSize = 50, Seed = 2, CheckpointDirectory = dir, Resume = resume,
        };
        var (whole, _) = SharedModel();
        whole.Fit(Spirals, Losses.CrossEntropy, new Adam(whole.Parameters(), 0.01f), new FitOptions { Epochs = 3, BatchSize = 50, Seed = 2 });

        var (first, _) = SharedModel();
        first.Fit(Spirals, Losses.CrossEntropy, new Adam(first.Parameters(), 0.01f), Options(2, resume: false));
        var (resumed, _) = SharedModel();
        resumed.Fit(Spirals, Losses.CrossEntropy, new Adam(resumed.Parameters(), 0.01f), Options(3, resume: true));

        var a = whole.Parameters();
        var b = resumed.Parameters();
        for (int p = 0; p < a.Count; p++) Assert.Equal(a[p].ToArray(), b[p].ToArray());
    }

    [Fact]
    public void AModelFileRefusesASharedLayerByNameBeforeWritingAnything()
    {
        var (model, _) = SharedModel();
        var path = Path.Combine(dir, "shared.safetensors");
        var e = Assert.Throws<InvalidOperationException>(() => model.Save(path));
        Assert.Contains("Dense(8→8) is used at '2' and '4'", e.Message);
        Assert.Contains("cannot express sharing", e.Message);
        Assert.Empty(Directory.GetFiles(dir));
    }

    [Fact]
    public void AModelFileRefusesTwoLayersTiedToOneTensor()
    {
        var w = Tensor.Ones(3).RequireGrad();
        var model = new Sequential(new Scale(w), new Scale(w), new Sequential(new Scale(w)));
        var e = Assert.Throws<InvalidOperationException>(() => model.Save(Path.Combine(dir, "tied.safetensors")));
        Assert.Contains("'0.scale', '1.scale' and '2.0.scale' are one tensor", e.Message);
        Assert.Equal(["0.scale"], model.NamedParameters().Select(p => p.Name));
    }

    [Fact]
    public void AStatelessLayerUsedTwiceStillSaves()
    {
        var act = new Tanh();
        var model = new Sequential(new Dense(2, 4, rng: new Rng(1)), act, new Dense(4, 3, rng: new Rng(2)), act);
        var path = Path.Combine(dir, "ok.safetensors");
        model.Save(path);
        var (loaded, _) = ModelFile.Load(path);
        Assert.Equal(model.Predict(Spirals.Features).ToArray(), loaded.Predict(Spirals.Features).ToArray());
    }

    /// <summary>x ⊙ s with a scale tensor given from outside, so two instances can share it.</summary>
    private sealed class Scale(Tensor scale) : Module
    {
        public override Tensor Forward(Tensor input) => input * scale;
        protected override IEnumerable<(string Name, Tensor Parameter)> OwnParameters() => [("scale", scale)];
        public override JsonObject ToSpec() => new() { ["type"] = "Scale" };
        public override string ToString() => "Scale";
    }
}
