using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// The compiled training step must compute what the autograd graph computes: the same loss, the same correct count
/// and the same gradient for every parameter, for each supported activation and loss; and a steady-state step must
/// not allocate.
/// </summary>
public sealed class TrainingPlanTests
{
    private static Dataset Classification(int rows, int features, int classes, int seed)
    {
        var rng = new Rng(seed);
        var x = Tensor.RandomNormal([rows, features], rng);
        var y = Tensor.FromArray([.. Enumerable.Range(0, rows).Select(i => (float)(i % classes))]);
        return new Dataset(x, y, name: "random");
    }

    private static Dataset Regression(int rows, int features, int outputs, int seed)
    {
        var rng = new Rng(seed);
        return new Dataset(Tensor.RandomNormal([rows, features], rng), Tensor.RandomNormal([rows, outputs], rng), name: "random");
    }

    // Loss summed over the rows, correct count, and every parameter's gradient, through the autograd graph.
    internal static (double LossSum, int Correct, float[][] Grads) Autograd(Module model, ILoss loss, Dataset data, int[] rows)
    {
        model.ZeroGrad();
        var batch = data.Subset(rows);
        var output = model.Forward(batch.Features);
        var cost = loss.Compute(output, batch.Targets);
        cost.Backward();
        int correct = 0;
        if (data.IsClassification)
        {
            var arg = output.ArgMax(-1).ToArray();
            var y = batch.Targets.ToArray();
            for (int i = 0; i < rows.Length; i++) if (arg[i] == y[i]) correct++;
        }
        return (cost.Item() * (double)rows.Length, correct, [.. model.Parameters().Select(p => p.Grad!.ToArray())]);
    }

    public static TheoryData<string, string> Cases()
    {
        var cases = new TheoryData<string, string>();
        foreach (var act in new[] { "relu", "tanh", "sigmoid", "leaky_relu:0.1", "identity" })
            foreach (var loss in new[] { "cross_entropy", "mse", "half_mse" })
                cases.Add(act, loss);
        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void StepGivesTheAutogradLossAndGradients(string activation, string lossName)
    {
        var loss = Losses.ByName(lossName);
        bool classify = lossName == "cross_entropy";
        var data = classify ? Classification(50, 13, 4, seed: 3) : Regression(50, 13, 3, seed: 3);
        var model = Mlp.Create(13, [33, 17], classify ? 4 : 3, activation, rng: new Rng(5));
        int[] rows = [.. new Rng(9).Permutation(50)[..37]];

        var expected = Autograd(model, loss, data, rows);
        var plan = TrainingPlan.TryCreate(model, loss, data, maxBatch: 40, out var reason);
        Assert.True(plan is not null, reason);
        model.ZeroGrad();
        var (lossSum, correct) = plan.Step(data, rows);

        Assert.Equal(expected.LossSum, lossSum, 1e-4 * Math.Max(1, Math.Abs(expected.LossSum)));
        Assert.Equal(expected.Correct, correct);
        var parameters = model.Parameters();
        for (int p = 0; p < parameters.Count; p++)
        {
            var got = parameters[p].Grad!.ToArray();
            Assert.Equal(expected.Grads[p].Length, got.Length);
            for (int i = 0; i < got.Length; i++)
                Assert.True(Math.Abs(got[i] - expected.Grads[p][i]) <= 1e-6 + 1e-4 * Math.Abs(expected.Grads[p][i]),
                    $"{activation}/{lossName}: parameter {p}, element {i}: plan {got[i]} vs autograd {expected.Grads[p][i]}");
        }
    }

    [Fact]
    public void GradientsAreOverwrittenNotAccumulatedAcrossSteps()
    {
        var data = Classification(20, 5, 3, seed: 1);
        var model = Mlp.Create(5, [8], 3, "tanh", rng: new Rng(2));
        var plan = TrainingPlan.TryCreate(model, Losses.CrossEntropy, data, 20, out _)!;
        int[] rows = [.. Enumerable.Range(0, 20)];
        plan.Step(data, rows);
        var first = model.Parameters()[0].Grad!.ToArray();
        plan.Step(data, rows);
        Assert.Equal(first, model.Parameters()[0].Grad!.ToArray());
    }

    [Fact]
    public void ModelsAndLossesTheFusedKernelsCannotExpressFallBackWithAReason()
    {
        var data = Classification(10, 4, 3, seed: 1);
        Assert.Null(TrainingPlan.TryCreate(new Sequential(new Dense(4, 3), new Softmax()), Losses.CrossEntropy, data, 8, out var softmax));
        Assert.Contains("Softmax", softmax);
        Assert.Null(TrainingPlan.TryCreate(new Dense(4, 1), Losses.BinaryCrossEntropyWithLogits, Classification(10, 4, 2, 1), 8, out var bce));
        Assert.Contains("bce_logits", bce);
        Assert.Null(TrainingPlan.TryCreate(new Dense(5, 3), Losses.CrossEntropy, data, 8, out var width));
        Assert.Equal("Dense(5→3) (the model itself) on rows of 4 features is not in the compiled step", width);
        Assert.Null(TrainingPlan.TryCreate(new Dense(4, 7), Losses.CrossEntropy, data, 8, out var outputs));
        Assert.Contains("7 outputs", outputs);
    }

    public static TheoryData<string, int[]> ConvolutionalModels() => new()
    {
        // The CNN shape, scaled down: conv-relu-pool twice, flatten, dense-relu-dropout-dense.
        { "conv(4,3,pad=1)-relu-maxpool(2)-conv(6,3,pad=1)-relu-maxpool(2)-flatten-dense(12)-relu-dropout(0.3)-dense(3)", [1, 8, 8] },
        // Several input channels, stride 2 without padding, overlapping pool windows, tanh, no bias, odd sizes.
        { "conv(5,3,stride=2)-tanh-maxpool(3,stride=2)-flatten-dense(3)", [2, 11, 9] },
        // A pool straight on the input, a 1×1 and a 5×5 kernel, leaky ReLU, an explicit reshape back to rows.
        { "maxpool(2)-conv(3,1)-leaky_relu(0.1)-conv(2,5,pad=2,bias=false)-sigmoid-reshape(50)-dense(3)", [3, 10, 10] },
        // 16 and 32 channels take the vector paths (bias rows, column sums, pool backward); 7×7 → 3×3 leaves a
        // row and a column no pool window covers.
        { "conv(16,3)-relu-maxpool(2)-conv(32,1)-relu-flatten-dense(3)", [2, 9, 9] },
        { "conv(48,3,pad=1)-relu-maxpool(2)-conv(64,3,pad=1)-identity-maxpool(3)-flatten-dense(3)", [1, 6, 6] },
    };

    [Theory]
    [MemberData(nameof(ConvolutionalModels))]
    public void ConvolutionalStepGivesTheAutogradLossAndGradients(string spec, int[] sampleShape)
    {
        int features = sampleShape.Aggregate(1, (p, d) => p * d);
        var data = Classification(30, features, 3, seed: 8).WithSampleShape(sampleShape);
        // Two identical models: the same weights and the same dropout generator, so both paths drop the same units.
        var graphModel = ModelLanguage.Build(spec, sampleShape, new Rng(4));
        var planModel = ModelLanguage.Build(spec, sampleShape, new Rng(4));
        int[] rows = [.. new Rng(2).Permutation(30)[..17]];

        var expected = Autograd(graphModel, Losses.CrossEntropy, data, rows);
        var plan = TrainingPlan.TryCreate(planModel, Losses.CrossEntropy, data, maxBatch: 20, out var reason);
        Assert.True(plan is not null, reason);
        var (lossSum, correct) = plan.Step(data, rows);

        AssertStepMatches(spec, expected, lossSum, correct, planModel);
    }

    /// <summary>
    /// The compiled step's loss, correct count and every parameter's gradient against the graph's: the loss to 1e-4
    /// relative, each gradient to 1e-5 of its parameter's largest gradient plus 1e-4 of its own size (image models sum
    /// their convolutions in another order).
    /// </summary>
    internal static void AssertStepMatches(string name, (double LossSum, int Correct, float[][] Grads) expected,
        double lossSum, int correct, Module planModel)
    {
        Assert.Equal(expected.LossSum, lossSum, 1e-4 * Math.Max(1, Math.Abs(expected.LossSum)));
        Assert.Equal(expected.Correct, correct);
        var parameters = planModel.Parameters();
        Assert.Equal(expected.Grads.Length, parameters.Count);
        for (int p = 0; p < parameters.Count; p++)
        {
            var got = parameters[p].Grad!.ToArray();
            float scale = expected.Grads[p].Max(MathF.Abs);
            for (int i = 0; i < got.Length; i++)
                Assert.True(Math.Abs(got[i] - expected.Grads[p][i]) <= 1e-5 * Math.Max(1, scale) + 1e-4 * Math.Abs(expected.Grads[p][i]),
                    $"{name}: parameter {p}, element {i}: plan {got[i]} vs autograd {expected.Grads[p][i]}");
        }
    }

    [Fact]
    public void ACnnLearnsWhichQuadrantHoldsTheBlobThroughTheCompiledStep()
    {
        // 8×8 images: noise, plus a bright 3×3 blob in one quadrant; the class is the quadrant.
        var rng = new Rng(12);
        const int count = 400;
        var x = new float[count * 64];
        var y = new float[count];
        for (int i = 0; i < count; i++)
        {
            int quadrant = i % 4, top = quadrant / 2 * 4 + rng.NextInt(2), left = quadrant % 2 * 4 + rng.NextInt(2);
            for (int p = 0; p < 64; p++) x[i * 64 + p] = 0.3f * rng.NextFloat();
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 3; c++) x[i * 64 + (top + r) * 8 + left + c] += 1f;
            y[i] = quadrant;
        }
        var data = new Dataset(Tensor.FromArray(x, count, 64), Tensor.FromArray(y), name: "quadrants").WithSampleShape(1, 8, 8);
        var (train, test) = data.Split(0.75, seed: 1);
        var model = ModelLanguage.Build("conv(4,3,pad=1)-relu-maxpool(2)-flatten-dense(4)", [1, 8, 8], new Rng(3));
        Assert.NotNull(TrainingPlan.TryCreate(model, Losses.CrossEntropy, train, 32, out _));

        var history = model.Fit(train, Losses.CrossEntropy, new Adam(model.Parameters(), 0.01f), epochs: 15, batchSize: 32);
        var evaluation = model.Evaluate(test, Losses.CrossEntropy);
        Assert.True(evaluation.Accuracy >= 0.95, $"test accuracy {evaluation.Accuracy}");
        Assert.True(history.Last.Loss < history.Epochs[0].Loss / 4, $"loss {history.Epochs[0].Loss} → {history.Last.Loss}");
    }

    [Theory]
    [InlineData("relu", "cross_entropy")]
    [InlineData("tanh", "mse")]
    public void FitThroughThePlanMatchesFitThroughTheGraph(string activation, string lossName)
    {
        var loss = Losses.ByName(lossName);
        bool classify = lossName == "cross_entropy";
        var data = classify ? Classification(90, 6, 3, seed: 4) : Regression(90, 6, 2, seed: 4);

        Module Train(bool autograd, out History history)
        {
            var model = Mlp.Create(6, [10], classify ? 3 : 2, activation, rng: new Rng(11));
            history = model.Fit(data, loss, new Adam(model.Parameters(), 0.01f), new FitOptions
            {
                Epochs = 5, BatchSize = 16, Seed = 3, Engine = autograd ? TrainingEngine.Graph : TrainingEngine.Compiled,
            });
            Assert.Equal(autograd ? TrainingEngine.Graph : TrainingEngine.Compiled, history.Engine);
            return model;
        }

        var planned = Train(autograd: false, out var planHistory);
        var graphed = Train(autograd: true, out var graphHistory);
        for (int e = 0; e < 5; e++)
        {
            Assert.Equal(graphHistory.Epochs[e].Loss, planHistory.Epochs[e].Loss, 1e-4);
            Assert.Equal(graphHistory.Epochs[e].Accuracy, planHistory.Epochs[e].Accuracy);
        }
        var a = planned.Parameters();
        var b = graphed.Parameters();
        for (int p = 0; p < a.Count; p++)
        {
            var x = a[p].ToArray();
            var y = b[p].ToArray();
            for (int i = 0; i < x.Length; i++) Assert.True(Math.Abs(x[i] - y[i]) <= 1e-4, $"parameter {p}[{i}]: {x[i]} vs {y[i]}");
        }
    }

    [Fact]
    public void ASteadyStateStepOfTheReferenceMlpAllocatesNothing()
    {
        // The model: 784-256-128-10, ReLU, Adam, cross-entropy, batch 64. Two epochs minus one epoch is the
        // cost of the extra epoch's steps alone (Fit's per-call set-up cancels out).
        var data = Classification(64 * 6, 784, 10, seed: 2);
        var model = Mlp.Create(784, [256, 128], 10, "relu", rng: new Rng(1));
        var adam = new Adam(model.Parameters(), 1e-3f);
        model.Fit(data, Losses.CrossEntropy, adam, epochs: 3, batchSize: 64);   // warm-up: the JIT's later tiers compile here
        // The least of three tries: a one-off runtime event (a method recompiled at a higher tier) can land in any one.
        long perStep = long.MaxValue;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            long b0 = GC.GetAllocatedBytesForCurrentThread();
            model.Fit(data, Losses.CrossEntropy, adam, epochs: 1, batchSize: 64);
            long b1 = GC.GetAllocatedBytesForCurrentThread();
            model.Fit(data, Losses.CrossEntropy, adam, epochs: 2, batchSize: 64);
            long b2 = GC.GetAllocatedBytesForCurrentThread();
            perStep = Math.Min(perStep, ((b2 - b1) - (b1 - b0)) / 6);
        }
        Assert.True(perStep < 1024, $"a training step allocated {perStep} bytes");
    }

    [Theory]
    [InlineData(1000)]     // 62 full Vector512 blocks and an 8-value scalar tail, updated on one core
    [InlineData(70_001)]   // large enough to be updated as two halves on two cores (when there are two)
    public void VectorisedAdamMatchesTheScalarFormulaBitForBit(int size)
    {
        var rng = new Rng(6);
        var w = Tensor.RandomNormal([size], rng).RequireGrad();
        var expected = w.ToArray();
        float[] m = new float[size], v = new float[size];
        var adam = new Adam([w], lr: 0.01f, weightDecay: 0.1f);
        for (int step = 1; step <= 3; step++)
        {
            var g = Tensor.RandomNormal([size], rng);
            w.Grad = g;
            adam.Step();
            float bias1 = 1f - MathF.Pow(0.9f, step), bias2 = 1f - MathF.Pow(0.999f, step);
            float stepSize = 0.01f / bias1, invSqrtBias2 = 1f / MathF.Sqrt(bias2);
            var gv = g.ToArray();
            for (int i = 0; i < size; i++)
            {
                float gi = gv[i] + 0.1f * expected[i];
                m[i] = 0.9f * m[i] + (1f - 0.9f) * gi;
                v[i] = 0.999f * v[i] + (1f - 0.999f) * gi * gi;
                expected[i] -= stepSize * m[i] / (MathF.Sqrt(v[i]) * invSqrtBias2 + 1e-8f);
            }
            Assert.Equal(expected, w.ToArray());
        }
    }
}
