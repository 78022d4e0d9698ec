using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// Cross-entropy with class weights, label smoothing, an ignored index and each reduction in the compiled step: the
/// same loss, correct count and gradients as the graph's <see cref="CrossEntropyLoss.Compute(Tensor, Tensor)"/> (itself checked
/// against PyTorch), and the same weights after Fit.
/// </summary>
public sealed class TrainingPlanCrossEntropyOptionsTests
{
    private static readonly float[] Weights = [0.5f, 2f, 1f, 1.5f];

    private static Dataset Data(int rows, int seed)
    {
        var rng = new Rng(seed);
        var x = Tensor.RandomNormal([rows, 6], rng);
        var y = Tensor.FromArray([.. Enumerable.Range(0, rows).Select(i => (float)((i * 7 + i / 3) % 4))]);
        return new Dataset(x, y, name: "random");
    }

    private static CrossEntropyLoss Loss(string name) => name switch
    {
        "weights" => new CrossEntropyLoss(Weights),
        "smoothing" => new CrossEntropyLoss(labelSmoothing: 0.1f),
        "weights+smoothing+ignore class 2" => new CrossEntropyLoss(Weights, 0.2f, ignoreIndex: 2),
        "ignore -100, sum" => new CrossEntropyLoss(ignoreIndex: -100, reduction: LossReduction.Sum),
        "weights+ignore class 0, batchmean" => new CrossEntropyLoss(Weights, ignoreIndex: 0, reduction: LossReduction.BatchMean),
        "smoothing 0.3, sum" => new CrossEntropyLoss(labelSmoothing: 0.3f, reduction: LossReduction.Sum),
        _ => throw new ArgumentException(name),
    };

    public static TheoryData<string> Options =>
        ["weights", "smoothing", "weights+smoothing+ignore class 2", "ignore -100, sum", "weights+ignore class 0, batchmean", "smoothing 0.3, sum"];

    // Loss summed over the rows as Fit counts it (value × n), correct count and every gradient, through the graph.
    private static (double LossSum, int Correct, float[][] Grads) Graph(Module model, ILoss loss, Dataset data, int[] rows)
    {
        model.ZeroGrad();
        var batch = data.Subset(rows);
        var output = model.Forward(batch.Features);
        var cost = loss.Compute(output, batch.Targets);
        cost.Backward();
        var arg = output.ArgMax(-1).ToArray();
        var y = batch.Targets.ToArray();
        int correct = Enumerable.Range(0, rows.Length).Count(i => arg[i] == y[i]);
        return (cost.Item() * (double)rows.Length, correct, [.. model.Parameters().Select(p => p.Grad!.ToArray())]);
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void TheCompiledStepComputesWhatTheGraphComputes(string options)
    {
        var loss = Loss(options);
        var data = Data(50, seed: 3);
        int[] rows = [.. new Rng(9).Permutation(50)[..37]];
        foreach (var spec in new[] { "dense(16)-tanh-dense(4)", "reshape(1,2,3)-conv(3,2,pad=1)-relu-flatten-dense(4)" })
        {
            var model = ModelLanguage.Build(spec, [6], new Rng(5));
            var expected = Graph(model, loss, data, rows);
            var plan = TrainingPlan.TryCreate(model, loss, data, maxBatch: 40, out var reason);
            Assert.True(plan is not null, reason);
            model.ZeroGrad();
            var (lossSum, correct) = plan.Step(data, rows);
            TrainingPlanTests.AssertStepMatches($"{options} / {spec}", expected, lossSum, correct, model);
        }
    }

    [Fact]
    public void ABatchOfOnlyIgnoredRowsIsANoOpStep()
    {
        var data = Data(40, seed: 4);
        int[] rows = [.. Enumerable.Range(0, 40).Where(i => data.Targets.ToArray()[i] == 2f)];
        var model = ModelLanguage.Build("dense(8)-relu-dense(4)", [6], new Rng(2));
        var plan = TrainingPlan.TryCreate(model, new CrossEntropyLoss(Weights, 0.1f, ignoreIndex: 2), data, 40, out var reason)!;
        Assert.Null(reason);
        var (lossSum, _) = plan.Step(data, rows);
        Assert.Equal(0, lossSum);
        foreach (var p in model.Parameters()) Assert.All(p.Grad!.ToArray(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void WeightsThatDoNotFitTheOutputsLeaveTheGraphToSayWhatIsWrong()
    {
        var data = Data(20, seed: 5);
        var model = ModelLanguage.Build("dense(4)", [6], new Rng(1));
        var loss = new CrossEntropyLoss([1f, 2f]);
        Assert.Null(TrainingPlan.TryCreate(model, loss, data, 8, out var reason));
        Assert.Equal("cross_entropy has 2 class weights but the model has 4 outputs", reason);
        var e = Assert.Throws<ShapeMismatchException>(() => model.Fit(data, loss, new Sgd(model.Parameters(), 0.1f), new FitOptions { Epochs = 1 }));
        Assert.Equal("cross_entropy: 2 class weights were given but the input has 4 classes.", e.Message);
    }

    [Fact]
    public void FitGivesTheSameWeightsOnBothEngines()
    {
        var data = Data(90, seed: 6);
        var loss = new CrossEntropyLoss(Weights, 0.15f, ignoreIndex: 3);
        Module Train(TrainingEngine engine, out History history)
        {
            var model = ModelLanguage.Build("dense(10)-relu-dense(4)", [6], new Rng(11));
            history = model.Fit(data, loss, new Adam(model.Parameters(), 0.01f),
                new FitOptions { Epochs = 5, BatchSize = 16, Seed = 3, Engine = engine });
            Assert.Equal(engine, history.Engine);
            return model;
        }
        var compiled = Train(TrainingEngine.Compiled, out var planHistory);
        var graph = Train(TrainingEngine.Graph, out var graphHistory);
        for (int e = 0; e < 5; e++)
        {
            Assert.Equal(graphHistory.Epochs[e].Loss, planHistory.Epochs[e].Loss, 1e-4);
            Assert.Equal(graphHistory.Epochs[e].Accuracy, planHistory.Epochs[e].Accuracy);
        }
        var (a, b) = (compiled.Parameters(), graph.Parameters());
        for (int p = 0; p < a.Count; p++)
        {
            var (x, y) = (a[p].ToArray(), b[p].ToArray());
            for (int i = 0; i < x.Length; i++) Assert.True(Math.Abs(x[i] - y[i]) <= 1e-4, $"parameter {p}[{i}]: {x[i]} vs {y[i]}");
        }
    }

    [Fact]
    public void ASteadyStepWithOptionsAndClippingAllocatesNothing()
    {
        // Two epochs minus one epoch is the cost of the extra epoch's steps alone (Fit's per-call set-up cancels out).
        var data = Data(32 * 6, seed: 8);
        var model = ModelLanguage.Build("dense(32)-relu-dense(4)", [6], new Rng(1));
        var adam = new Adam(model.Parameters(), 1e-3f);
        var loss = new CrossEntropyLoss(Weights, 0.1f, ignoreIndex: 3);
        FitOptions Options(int epochs) => new() { Epochs = epochs, BatchSize = 32, ClipGradNorm = 0.5f, ClipGradValue = 0.05f, Engine = TrainingEngine.Compiled };
        model.Fit(data, loss, adam, Options(3));   // warm-up: the JIT's later tiers compile here
        long perStep = long.MaxValue;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            long b0 = GC.GetAllocatedBytesForCurrentThread();
            model.Fit(data, loss, adam, Options(1));
            long b1 = GC.GetAllocatedBytesForCurrentThread();
            model.Fit(data, loss, adam, Options(2));
            long b2 = GC.GetAllocatedBytesForCurrentThread();
            perStep = Math.Min(perStep, ((b2 - b1) - (b1 - b0)) / 6);
        }
        Assert.True(perStep < 1024, $"a training step allocated {perStep} bytes");
    }
}
