using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// The compiled step's BatchNorm, AvgPool2d, image-dropout and stand-alone activation stages must compute what the
/// autograd graph computes: the same loss and correct count, the same gradient for every parameter, and the same
/// running statistics and batch count in every BatchNorm layer.
/// </summary>
public sealed class TrainingPlanNormPoolTests
{
    /// <summary>The benchmark's CNN with BatchNorm2d after each convolution, as the TorchSharp anchor builds it.</summary>
    internal const string ReferenceCnnWithBatchNorm =
        "conv(32,3,pad=1)-batchnorm-relu-maxpool(2)-conv(64,3,pad=1)-batchnorm-relu-maxpool(2)-flatten-dense(128)-relu-dropout(0.3)-dense(10)";

    private static Dataset Classification(int rows, int[] sampleShape, int classes, int seed)
    {
        int features = sampleShape.Aggregate(1, (p, d) => p * d);
        var rng = new Rng(seed);
        // An offset and a scale per feature, so the batch statistics are far from (0, 1) and matter.
        var x = Tensor.RandomNormal([rows, features], rng).ToArray();
        for (int i = 0; i < x.Length; i++) x[i] = 3f * x[i] + 2f + (i % features) % 5;
        var y = Tensor.FromArray([.. Enumerable.Range(0, rows).Select(i => (float)(i % classes))]);
        var data = new Dataset(Tensor.FromArray(x, rows, features), y, name: "random");
        return sampleShape.Length == 1 ? data : data.WithSampleShape(sampleShape);
    }

    // Loss summed over the rows, correct count, and every parameter's gradient, through the autograd graph.
    private static (double LossSum, int Correct, float[][] Grads) Autograd(Module model, Dataset data, int[] rows)
    {
        model.ZeroGrad();
        var batch = data.Subset(rows);
        var output = model.Forward(batch.Features);
        var cost = Losses.CrossEntropy.Compute(output, batch.Targets);
        cost.Backward();
        var arg = output.ArgMax(-1).ToArray();
        var y = batch.Targets.ToArray();
        int correct = 0;
        for (int i = 0; i < rows.Length; i++) if (arg[i] == y[i]) correct++;
        return (cost.Item() * (double)rows.Length, correct, [.. model.Parameters().Select(p => p.Grad!.ToArray())]);
    }

    // Two steps on different rows through each path (so the running statistics move twice), then the second step's
    // loss and gradients and every buffer are compared.
    private static void AssertPlanMatchesGraph(string name, Func<Module> build, Dataset data, int batch)
    {
        var graphModel = build();
        var planModel = build();
        var order = new Rng(2).Permutation(data.Count);
        int[] first = [.. order[..batch]], second = [.. order[batch..(2 * batch)]];

        Autograd(graphModel, data, first);
        var expected = Autograd(graphModel, data, second);
        var plan = TrainingPlan.TryCreate(planModel, Losses.CrossEntropy, data, maxBatch: batch + 3, out var reason);
        Assert.True(plan is not null, $"{name}: {reason}");
        plan.Step(data, first);
        var (lossSum, correct) = plan.Step(data, second);

        TrainingPlanTests.AssertStepMatches(name, expected, lossSum, correct, planModel);
        var graphBuffers = graphModel.NamedBuffers().ToList();
        var planBuffers = planModel.NamedBuffers().ToList();
        Assert.Equal(graphBuffers.Select(b => b.Name), planBuffers.Select(b => b.Name));
        for (int b = 0; b < graphBuffers.Count; b++)
        {
            var want = graphBuffers[b].Buffer.ToArray();
            var got = planBuffers[b].Buffer.ToArray();
            for (int i = 0; i < want.Length; i++)
                Assert.True(Math.Abs(got[i] - want[i]) <= 1e-6 + 1e-5 * Math.Abs(want[i]),
                    $"{name}: buffer {graphBuffers[b].Name}[{i}]: plan {got[i]} vs autograd {want[i]}");
        }
    }

    public static TheoryData<string, int[]> Models() => new()
    {
        // (a) The reference CNN with BatchNorm2d, exactly as benchmarked, on 28×28 images.
        { ReferenceCnnWithBatchNorm, [1, 28, 28] },
        // (b) MLPs with BatchNorm1d: fused ReLU; sigmoid and tanh (their own backward pass); BatchNorm first in the
        // model (no input gradient) and a width of 37 (vector blocks and a scalar tail).
        { "dense(20)-batchnorm-relu-dense(3)", [13] },
        { "batchnorm-dense(37)-batchnorm-sigmoid-dense(16)-batchnorm-tanh-dense(3)", [13] },
        { "dense(12)-batchnorm-leaky_relu(0.1)-dropout(0.2)-dense(3)", [5] },
        // BatchNorm2d on the input image, and after a convolution of 12 channels, with an identity activation.
        { "batchnorm-conv(12,3)-batchnorm-identity-maxpool(2)-flatten-dense(3)", [3, 7, 7] },
        // (c) AvgPool2d: tiling windows; overlapping windows (stride 2, window 3) leaving pixels no window covers;
        // straight on the input; 16 channels (vector path).
        { "conv(4,3)-relu-avgpool(2)-flatten-dense(3)", [2, 9, 9] },
        { "conv(16,3,pad=1)-batchnorm-relu-avgpool(3,stride=2)-flatten-dense(3)", [1, 8, 8] },
        { "avgpool(2)-conv(9,3)-tanh-avgpool(2,stride=1)-flatten-dense(3)", [3, 10, 10] },
        // (d) Dropout on images: after a convolution (8 channels), on the input itself, and before an AvgPool.
        { "conv(8,3,pad=1)-relu-dropout(0.5)-maxpool(2)-flatten-dense(3)", [1, 8, 8] },
        { "dropout(0.3)-conv(3,3)-relu-avgpool(2)-dropout(0.25)-flatten-dense(3)", [2, 6, 6] },
        // (e) Activations after pooling, two in a row, and first in the model.
        { "conv(8,3)-maxpool(2)-relu-flatten-dense(3)", [1, 9, 9] },
        { "avgpool(2)-tanh-sigmoid-flatten-dense(3)", [2, 6, 6] },
        { "relu-conv(5,3)-relu-relu-flatten-dense(3)", [1, 6, 6] },
        { "sigmoid-dense(7)-relu-leaky_relu(0.2)-dense(3)", [6] },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void StepGivesTheAutogradLossGradientsAndRunningStatistics(string spec, int[] sampleShape)
    {
        var data = Classification(40, sampleShape, spec.EndsWith("dense(10)", StringComparison.Ordinal) ? 10 : 3, seed: 8);
        AssertPlanMatchesGraph(spec, () => ModelLanguage.Build(spec, sampleShape, new Rng(4)), data, batch: 17);
    }

    [Fact]
    public void BatchNormWithoutAffineParametersAndOtherSettingsMatchesTheGraph()
    {
        var data = Classification(30, [2, 6, 6], 3, seed: 5);
        AssertPlanMatchesGraph("affine=false", () => new Sequential(
            new Reshape(2, 6, 6), new Conv2d(2, 9, 3, rng: new Rng(3)), new BatchNorm2d(9, eps: 1e-3f, momentum: 0.3f, affine: false),
            new Relu(), new Flatten(), new Dense(9 * 16, 20, rng: new Rng(4)), new BatchNorm1d(20, momentum: 1f, affine: false),
            new Dense(20, 3, rng: new Rng(5))), data, batch: 11);
    }

    [Fact]
    public void ABatchNormStepOnOneRowFailsAsTheLayerDoes()
    {
        var data = Classification(10, [4], 3, seed: 1);
        var model = ModelLanguage.Build("dense(5)-batchnorm-dense(3)", [4], new Rng(1));
        var plan = TrainingPlan.TryCreate(model, Losses.CrossEntropy, data, 8, out var reason);
        Assert.True(plan is not null, reason);
        var error = Assert.Throws<ShapeMismatchException>(() => plan.Step(data, [3]));
        Assert.Contains("more than 1 value per channel", error.Message);
    }

    [Fact]
    public void FitThroughThePlanMatchesFitThroughTheGraphWithBatchNormAndImageDropout()
    {
        // No bias before a BatchNorm: its gradient is zero up to rounding, which Adam's normalised step would turn
        // into a random walk that differs between any two summation orders.
        const string spec = "conv(8,3,pad=1,bias=false)-batchnorm-relu-avgpool(2)-dropout(0.2)-flatten-dense(12,bias=false)-batchnorm-tanh-dense(3)";
        var data = Classification(60, [1, 6, 6], 3, seed: 4);
        Module Train(bool autograd, out History history)
        {
            var model = ModelLanguage.Build(spec, [1, 6, 6], new Rng(11));
            Assert.NotNull(TrainingPlan.TryCreate(model, Losses.CrossEntropy, data, 16, out _));
            history = model.Fit(data, Losses.CrossEntropy, new Adam(model.Parameters(), 0.01f), new FitOptions
            {
                Epochs = 3, BatchSize = 16, Seed = 3, Engine = autograd ? TrainingEngine.Graph : TrainingEngine.Compiled,
            });
            Assert.Equal(autograd ? TrainingEngine.Graph : TrainingEngine.Compiled, history.Engine);
            return model;
        }

        var planned = Train(autograd: false, out var planHistory);
        var graphed = Train(autograd: true, out var graphHistory);
        for (int e = 0; e < 3; e++)
        {
            Assert.Equal(graphHistory.Epochs[e].Loss, planHistory.Epochs[e].Loss, 1e-4);
            Assert.Equal(graphHistory.Epochs[e].Accuracy, planHistory.Epochs[e].Accuracy);
        }
        var a = planned.NamedParameters().Select(p => (p.Name, Value: p.Parameter)).Concat(planned.NamedBuffers().Select(b => (b.Name, Value: b.Buffer))).ToList();
        var b = graphed.NamedParameters().Select(p => (p.Name, Value: p.Parameter)).Concat(graphed.NamedBuffers().Select(b => (b.Name, Value: b.Buffer))).ToList();
        Assert.Equal(b.Select(t => t.Name), a.Select(t => t.Name));
        for (int t = 0; t < a.Count; t++)
        {
            var x = a[t].Value.ToArray();
            var y = b[t].Value.ToArray();
            for (int i = 0; i < x.Length; i++) Assert.True(Math.Abs(x[i] - y[i]) <= 1e-4 * Math.Max(1, Math.Abs(y[i])), $"{a[t].Name}[{i}]: {x[i]} vs {y[i]}");
        }
    }

    [Fact]
    public void LayersThePlanStillCannotExpressFallBackWithAReason()
    {
        var data = Classification(10, [1, 4, 4], 3, seed: 1);
        Assert.Null(TrainingPlan.TryCreate(ModelLanguage.Build("conv(2,3,pad=1)-leaky_relu(-0.5)-flatten-dense(3)", [1, 4, 4]),
            Losses.CrossEntropy, data, 8, out var negative));
        Assert.Contains("LeakyReLU(-0.5)", negative);
        Assert.Null(TrainingPlan.TryCreate(ModelLanguage.Build("conv(2,3,pad=1)-flatten-dense(3)-softmax", [1, 4, 4]), Losses.CrossEntropy, data, 8, out var softmax));
        Assert.Contains("Softmax", softmax);
    }
}

/// <summary>
/// Allocation counts cover every thread (<see cref="GC.GetTotalAllocatedBytes"/>), so these tests must not run beside
/// others.
/// </summary>
[CollectionDefinition(nameof(AllocationCounting), DisableParallelization = true)]
public sealed class AllocationCounting;

[Collection(nameof(AllocationCounting))]
public sealed class TrainingPlanAllocationTests
{
    [Fact]
    public void ASteadyStateStepOfTheCnnWithBatchNormAllocatesNothingOnAnyThread()
    {
        // The benchmark's CNN with BatchNorm2d (every layer of it), Adam, batch 64, on 8×8 images to keep the test
        // short. Counted on this thread and on the workers that run the other parts of its parallel regions.
        var rng = new Rng(2);
        var data = new Dataset(Tensor.RandomNormal([128, 64], rng), Tensor.FromArray([.. Enumerable.Range(0, 128).Select(i => (float)(i % 10))]),
            name: "random").WithSampleShape(1, 8, 8);
        var model = ModelLanguage.Build(TrainingPlanNormPoolTests.ReferenceCnnWithBatchNorm, [1, 8, 8], new Rng(1));
        var adam = new Adam(model.Parameters(), 1e-3f);
        var plan = TrainingPlan.TryCreate(model, Losses.CrossEntropy, data, 64, out var reason);
        Assert.True(plan is not null, reason);
        int[] a = [.. Enumerable.Range(0, 64)], b = [.. Enumerable.Range(64, 64)];
        // Steady state: past the runtime's tiered recompilation of the step's methods (after 30 calls), whose work
        // allocates on a background thread.
        for (int warm = 0; warm < 40; warm++)
        {
            plan.Step(data, warm % 2 == 0 ? a : b);
            adam.Step();
        }
        for (int s = 0; s < 30; s++)
        {
            var rows = s % 2 == 0 ? a : b;
            Assert.Equal(0, AllocationCount.Of(() => { plan.Step(data, rows); adam.Step(); }));
        }
    }
}
