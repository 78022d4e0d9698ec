using System.Text.Json.Nodes;
using Backprop.Data;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Tests.Nn;

/// <summary>
/// <see cref="Predictor"/> on convolutional models runs the compiled step's forward slice in evaluation mode, and must
/// give the graph's evaluation-mode outputs (dropout the identity, batch norm on its running statistics) without
/// changing the model. A convolution sums its receptive field in another order on each path (the plan's channels-last
/// im2col rows with the bias added after the sum, the graph's per-image NCHW product channel-major with the bias
/// inside it), so outputs agree to rounding: each conv output is a sum of K = C·3·3 (9, 288) products whose rounding
/// error is at most about K·ε relative to Σ|w·x| (1.7e-5 for K = 288) and in practice a few ε, and the layers after
/// carry it on. The bound asserted, 5e-6·max(1, |y|), is about 40 float ulps at 1, 25 times the largest difference
/// seen on these models (2e-7 at 256 bits; the 128-bit and scalar widths pass it too), while a wrong layout,
/// statistic or missing layer shows as differences of order 1e-1.
/// </summary>
public sealed class PredictorCnnTests
{
    internal const string ReferenceCnn =
        "conv(32,3,pad=1)-relu-maxpool(2)-conv(64,3,pad=1)-relu-maxpool(2)-flatten-dense(128)-relu-dropout(0.3)-dense(10)";

    internal const float Tolerance = 5e-6f;

    public static TheoryData<string, int[]> Models() => new()
    {
        { ReferenceCnn, [1, 28, 28] },
        { Training.TrainingPlanNormPoolTests.ReferenceCnnWithBatchNorm, [1, 28, 28] },
        { "conv(6,3,pad=1)-batchnorm-tanh-avgpool(2)-dropout(0.4)-conv(5,3)-sigmoid-flatten-batchnorm-dense(4)-softmax", [2, 10, 10] },
        { "conv(6,3,stride=2)-leaky_relu(0.1)-maxpool(2,stride=1)-conv(3,2)", [3, 9, 9] },   // ends on an image: NCHW out
        { "conv(4,3,pad=1)-maxpool(2)-relu-conv(6,3)-maxpool(2)", [3, 8, 8] },   // pools fused into the convolutions, ending on one
    };

    // The model in training mode after a few training-mode passes, which move the running statistics off (0, 1) and
    // the dropout generators off their seeds.
    internal static Sequential Trained(string spec, int[] shape, int seed = 3)
    {
        var model = ModelLanguage.Build(spec, shape, new Rng(seed));
        int features = shape.Aggregate(1, (p, d) => p * d);
        var rng = new Rng(seed + 1);
        for (int i = 0; i < 2; i++) model.Forward(Tensor.RandomNormal([6, features], rng, mean: 0.5f, std: 2f));
        return model;
    }

    internal static Tensor GraphEval(Module model, Tensor x)
    {
        using (InferenceMode.Enter()) return model.Forward(x);
    }

    internal static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= Tolerance * Math.Max(1f, Math.Abs(expected[i])),
                $"{what}: output {i} is {actual[i]} but the graph gives {expected[i]}.");
    }

    // Every parameter's and buffer's bits, every generator's state, and the training flag.
    internal static string[] Snapshot(Module model) =>
        [.. model.NamedParameters().Select(p => $"{p.Name}: {string.Join(",", p.Parameter.ToArray().Select(BitConverter.SingleToInt32Bits))}"),
         .. model.NamedBuffers().Select(b => $"{b.Name}: {string.Join(",", b.Buffer.ToArray().Select(BitConverter.SingleToInt32Bits))}"),
         .. model.NamedGenerators().Select(g => $"{g.Name}: {g.Generator.State}"),
         $"training: {model.IsTraining}"];

    [Theory]
    [MemberData(nameof(Models))]
    public void ConvolutionalModelsMatchTheGraphInEvaluationModeAndStayUnchanged(string spec, int[] shape)
    {
        var model = Trained(spec, shape);
        var before = Snapshot(model);
        var predictor = new Predictor(model);
        Assert.True(predictor.IsCompiled, predictor.FallbackReason);
        int features = shape.Aggregate(1, (p, d) => p * d);
        Assert.Equal(features, predictor.InFeatures);

        foreach (int rows in new[] { 1, 3, 13 })
        {
            var x = Tensor.RandomNormal([rows, features], new Rng(rows));
            var graph = GraphEval(model, x);
            var viaTensor = predictor.Predict(x);
            Assert.Equal(graph.Shape, viaTensor.Shape);
            AssertClose(graph.ToArray(), viaTensor.ToArray(), $"{spec}, {rows} rows");
            var viaSpan = new float[graph.Size];
            predictor.Predict(x.AsSpan(), viaSpan, rows);
            Assert.Equal(viaTensor.ToArray(), viaSpan);
            Assert.Equal(viaTensor.ToArray(), model.Predict(x).ToArray());
            // The leading Reshape takes images as well as rows: the same compiled values.
            Assert.Equal(viaTensor.ToArray(), predictor.Predict(x.Reshape([rows, .. shape])).ToArray());
        }
        Assert.Equal(before, Snapshot(model));
        Assert.True(model.IsTraining);
    }

    [Fact]
    public void ALargeInputRunsInBlocksThatGiveWhatEachBlockGivesAlone()
    {
        var model = Trained(Training.TrainingPlanNormPoolTests.ReferenceCnnWithBatchNorm, [1, 28, 28]);
        var predictor = new Predictor(model);
        // 8 MB of activations hold 23 rows of this CNN, so 70 rows run as 23, 23 and 24 (a run takes up to 23 + 4).
        var x = Tensor.RandomNormal([70, 784], new Rng(9));
        var all = predictor.Predict(x).ToArray();
        AssertClose(GraphEval(model, x).ToArray(), all, "70 rows");
        foreach (var (first, rows) in new[] { (0, 23), (23, 23), (46, 24) })
        {
            var block = new float[rows * 10];
            predictor.Predict(x.AsSpan().Slice(first * 784, rows * 784), block, rows);
            Assert.Equal(all.AsSpan(first * 10, rows * 10).ToArray(), block);
        }
    }

    [Fact]
    public void EvaluateOfACnnMatchesTheGraphsLossAndAccuracy()
    {
        var model = Trained(Training.TrainingPlanNormPoolTests.ReferenceCnnWithBatchNorm, [1, 28, 28]);
        var rng = new Rng(12);
        var data = new Dataset(Tensor.RandomNormal([40, 784], rng), Tensor.FromArray([.. Enumerable.Range(0, 40).Select(i => (float)(i % 10))]), name: "random");
        Assert.True(new Predictor(model).IsCompiled);
        // The same layers behind a module the plan cannot compile: Evaluate then runs them through the graph.
        var graphModel = new Sequential(model, new GraphOnly());
        Assert.False(new Predictor(graphModel).IsCompiled);

        var compiled = model.Evaluate(data, Losses.CrossEntropy, batchSize: 16);
        var graph = graphModel.Evaluate(data, Losses.CrossEntropy, batchSize: 16);
        Assert.Equal(graph.Count, compiled.Count);
        Assert.Equal(graph.Loss, compiled.Loss, 1e-5 * Math.Max(1, graph.Loss));
        Assert.Equal(graph.Accuracy, compiled.Accuracy);
        Assert.Equal(model.PredictClasses(data.Features), TargetAdapter.Classes(GraphEval(model, data.Features), null));
    }

    [Fact]
    public void ModelsOutsideTheStagesFallBackWithTheReason()
    {
        var custom = new Predictor(new Sequential(new Dense(4, 3), new GraphOnly()));
        Assert.False(custom.IsCompiled);
        Assert.Contains("GraphOnly at '1' on rows of 3 features is not in the compiled step", custom.FallbackReason);
        // A convolution with no Reshape before it takes NCHW input whose height and width the model does not fix: it
        // compiles once the predictor is told the shape of one example (ImageFirstModelTests).
        var unsized = new Predictor(new Sequential(new Conv2d(1, 2, 3), new Relu(), new Flatten(), new Dense(8, 2)));
        Assert.False(unsized.IsCompiled);
        Assert.Contains("takes images of any size, and the size of one example ([C, H, W]) was not given", unsized.FallbackReason);
        var x = Tensor.RandomNormal([2, 1, 4, 4], new Rng(1));
        Assert.Equal(GraphEval(unsized.Model, x).ToArray(), unsized.Predict(x).ToArray());
    }

    /// <summary>A module the compiled stages do not know (the identity).</summary>
    internal sealed class GraphOnly : Module
    {
        public override Tensor Forward(Tensor input) => input;

        public override JsonObject ToSpec() => new() { ["type"] = "GraphOnly" };

        public override string ToString() => "GraphOnly";
    }
}

/// <summary>Many threads at once, and allocation counted on every thread, so these run alone.</summary>
[Collection(nameof(RunsAlone))]
public sealed class PredictorCnnConcurrencyTests
{
    [Theory]
    [InlineData(PredictorCnnTests.ReferenceCnn)]
    [InlineData(Training.TrainingPlanNormPoolTests.ReferenceCnnWithBatchNorm)]
    public void EightThreadsGetTheSingleThreadedResultsAndTheModelIsUnchanged(string spec)
    {
        const int threads = 8;
        var model = PredictorCnnTests.Trained(spec, [1, 28, 28]);
        var before = PredictorCnnTests.Snapshot(model);
        var predictor = new Predictor(model);
        var x = Tensor.RandomNormal([5, 784], new Rng(7));
        var expected = new float[50];
        predictor.Predict(x.AsSpan(), expected, 5);
        var single = new float[10];
        predictor.Predict(x.AsSpan()[..784], single);

        var results = new float[threads][];
        var singles = new float[threads][];
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            results[t] = new float[50];
            singles[t] = new float[10];
            start.SignalAndWait();
            for (int round = 0; round < 10; round++)
            {
                predictor.Predict(x.AsSpan(), results[t], 5);
                predictor.Predict(x.AsSpan()[..784], singles[t]);
            }
        })).ToArray();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();

        for (int t = 0; t < threads; t++)
        {
            Assert.Equal(expected, results[t]);
            Assert.Equal(single, singles[t]);
        }
        Assert.Equal(before, PredictorCnnTests.Snapshot(model));
    }

    [Theory]
    [InlineData(PredictorCnnTests.ReferenceCnn)]
    [InlineData(Training.TrainingPlanNormPoolTests.ReferenceCnnWithBatchNorm)]
    public void BatchOnePredictionOfACnnAllocatesNothingOnAnyThread(string spec)
    {
        var model = PredictorCnnTests.Trained(spec, [1, 28, 28]);
        var predictor = new Predictor(model);
        var x = Tensor.RandomUniform([1, 784], new Rng(2)).ToArray();
        var y = new float[10];
        PredictorAllocationTests.AssertPredictAllocatesNothing(predictor, x, y, calls: 50);
        PredictorCnnTests.AssertClose(PredictorCnnTests.GraphEval(model, Tensor.FromArray(x, 1, 784)).ToArray(), y, spec);
    }
}
