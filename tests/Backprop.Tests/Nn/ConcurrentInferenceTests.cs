using Backprop.Data;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Tests.Nn;

/// <summary>
/// Evaluation mode belongs to the call: <c>Predict</c>, <c>Evaluate</c> and a <see cref="Predictor"/> never change the
/// model, so 8 threads predicting at once on one model left in training mode (batch norm and dropout included) each
/// get the single-threaded evaluation-mode result, bit for bit, and the running statistics, the dropout generator
/// and the model's mode are untouched.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class ConcurrentInferenceTests
{
    private const int Threads = 8;

    // A dense network and a CNN with BatchNorm2d (both compiled), both with dropout, in
    // training mode after a few training-mode forward passes have moved the running statistics away from 0 and 1.
    public static TheoryData<string, int[]> Models() => new()
    {
        { "dense(12)-batchnorm-relu-dropout(0.5)-dense(8)-tanh-dropout(0.3)-dense(3)", [6] },
        { "conv(4,3,pad=1)-batchnorm-relu-maxpool(2)-flatten-dropout(0.5)-dense(3)", [2, 6, 6] },
    };

    private static Sequential Trained(string spec, int[] shape, Rng rng)
    {
        var model = ModelLanguage.Build(spec, shape, new Rng(3));
        int features = shape.Aggregate(1, (p, d) => p * d);
        for (int i = 0; i < 3; i++) model.Forward(Tensor.RandomNormal([16, features], rng, mean: 1f, std: 2f));
        Assert.True(model.IsTraining);
        return model;
    }

    // Every buffer's values, and every generator's state as text (its four words).
    private static string[] Snapshot(Module model) =>
        [.. model.NamedBuffers().Select(b => $"{b.Name}: {string.Join(",", b.Buffer.ToArray().Select(v => BitConverter.SingleToInt32Bits(v)))}"),
         .. model.NamedGenerators().Select(g => $"{g.Name}: {g.Generator.State}")];

    [Theory]
    [MemberData(nameof(Models))]
    public void EightThreadsPredictingOnATrainingModeModelGetTheSingleThreadedEvaluationResult(string spec, int[] shape)
    {
        var rng = new Rng(5);
        var model = Trained(spec, shape, rng);
        int features = shape.Aggregate(1, (p, d) => p * d);
        var x = Tensor.RandomNormal([9, features], rng);
        var data = new Dataset(x, Tensor.FromArray([.. Enumerable.Range(0, 9).Select(i => (float)(i % 3))]), name: "random");
        var before = Snapshot(model);

        // The reference: one thread, the model switched to evaluation mode the old way, then back; the compiled
        // forward agrees with it bit for bit on the dense model and to rounding on the CNN (its convolution sums in
        // another order, see PredictorCnnTests), so every thread must then give the single-threaded result exactly.
        model.Eval();
        float[] graph;
        using (GradMode.NoGrad()) graph = model.Forward(x).ToArray();
        model.Train();
        var predictor = new Predictor(model);
        Assert.True(predictor.IsCompiled, predictor.FallbackReason);
        var expected = predictor.Predict(x).ToArray();
        if (shape.Length == 1) Assert.Equal(graph, expected);
        else PredictorCnnTests.AssertClose(graph, expected, spec);
        var expectedEvaluation = model.Evaluate(data, Losses.CrossEntropy);

        var results = new float[Threads][];
        var spans = new float[Threads][];
        var evaluations = new Evaluation[Threads];
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (int round = 0; round < 20; round++)
            {
                results[t] = model.Predict(x).ToArray();
                spans[t] = new float[expected.Length];
                predictor.Predict(x.AsSpan(), spans[t], 9);
                evaluations[t] = model.Evaluate(data, Losses.CrossEntropy);
            }
        })).ToArray();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();

        for (int t = 0; t < Threads; t++)
        {
            Assert.Equal(expected, results[t]);
            Assert.Equal(expected, spans[t]);
            Assert.Equal(expectedEvaluation, evaluations[t]);
        }
        Assert.True(model.IsTraining);
        Assert.Contains(before, s => s.Contains("running_mean"));
        Assert.Contains(before, s => s.Contains("generator"));
        Assert.Equal(before, Snapshot(model));
        // In training mode the model still trains: the same forward pass outside inference moves the statistics.
        model.Forward(Tensor.RandomNormal([4, features], rng));
        Assert.NotEqual(before, Snapshot(model));
    }

    [Fact]
    public void InsideAnInferenceScopeEveryModuleReadsEvaluationModeAndNothingIsRecorded()
    {
        var model = new Sequential(new Dense(3, 2), new Dropout(0.5f));
        using (InferenceMode.Enter())
        {
            Assert.False(model.IsTraining);
            Assert.False(model.Layers[1].IsTraining);
            Assert.False(GradMode.IsEnabled);
            using (InferenceMode.Enter()) Assert.False(model.IsTraining);
            Assert.False(model.IsTraining);
            var x = Tensor.FromArray([1f, 2f, 3f], 1, 3);
            Assert.Equal(((Dense)model.Layers[0]).Forward(x).ToArray(), model.Forward(x).ToArray());
        }
        Assert.True(model.IsTraining);
        Assert.True(GradMode.IsEnabled);
        // Another thread's scope does not reach this one.
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var other = new Thread(() =>
        {
            using (InferenceMode.Enter())
            {
                entered.Set();
                release.Wait();
            }
        });
        other.Start();
        entered.Wait();
        Assert.True(model.IsTraining);
        release.Set();
        other.Join();
    }

    [Fact]
    public void FitLeavesTheModelInTheModeItFoundItIn()
    {
        var data = Standardizer.Fit(Datasets.Iris().Features).Transform(Datasets.Iris());
        var model = new Sequential(new Dense(4, 8, rng: new Rng(1)), new Relu(), new Dropout(0.2f), new Dense(8, 3, rng: new Rng(2)));
        model.Fit(data, Losses.CrossEntropy, new Backprop.Optim.Sgd(model.Parameters(), 0.1f), epochs: 1, validation: data);
        Assert.True(model.IsTraining);
        model.Eval();
        model.Fit(data, Losses.CrossEntropy, new Backprop.Optim.Sgd(model.Parameters(), 0.1f), epochs: 1);
        Assert.False(model.IsTraining);
        Assert.All(model.Layers, l => Assert.False(l.IsTraining));
    }
}
