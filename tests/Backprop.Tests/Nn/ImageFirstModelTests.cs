using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Nn;

/// <summary>
/// A model that starts with a Conv2d (no Reshape in front) takes images of any size, so the compiled step learns the
/// size from the data's sample shape (training) or the input's shape (inference). It must then run exactly the stages
/// of the same layers behind a Reshape: the same bits, in training and in inference, never a silent fall back to the
/// graph.
/// </summary>
public sealed class ImageFirstModelTests
{
    private static readonly int[] Shape = [1, 8, 8];

    // The reference-style CNN on 8×8 images, with a Reshape first; and its layers without the Reshape, shared.
    private static (Sequential WithReshape, Sequential ConvFirst) Models(int seed)
    {
        var withReshape = ModelLanguage.Build("conv(4,3,pad=1)-relu-maxpool(2)-conv(6,3,pad=1)-batchnorm-relu-flatten-dense(3)", Shape, new Rng(seed));
        Assert.IsType<Reshape>(withReshape.Layers[0]);
        return (withReshape, new Sequential([.. withReshape.Layers.Skip(1)]));
    }

    private static Dataset Images(int rows, int seed)
    {
        var rng = new Rng(seed);
        var labels = Enumerable.Range(0, rows).Select(i => (float)(i % 3)).ToArray();
        return new Dataset(Tensor.RandomNormal([rows, 64], rng), Tensor.FromArray(labels), name: "images").WithSampleShape(Shape);
    }

    [Fact]
    public void InferenceCompilesOnceTheExampleShapeIsKnownAndGivesTheReshapeModelsBits()
    {
        var (withReshape, convFirst) = Models(seed: 5);
        var x = Tensor.RandomNormal([5, 1, 8, 8], new Rng(6));
        var expected = new Predictor(withReshape).Predict(x).ToArray();

        var unsized = new Predictor(convFirst);
        Assert.False(unsized.IsCompiled);
        Assert.Equal("Conv2d(1→4, 3×3, pad 1) takes images of any size, and the size of one example ([C, H, W]) was not given", unsized.FallbackReason);

        var sized = new Predictor(convFirst, Shape);
        Assert.True(sized.IsCompiled, sized.FallbackReason);
        Assert.Equal(64, sized.InFeatures);
        Assert.Equal(expected, sized.Predict(x).ToArray());
        // model.Predict reads the shape from its input, so it takes the compiled path too: the same bits.
        Assert.Equal(expected, convFirst.Predict(x).ToArray());
        // An input of another size is the graph's to accept or refuse, as for any model.
        var larger = Tensor.RandomNormal([2, 1, 10, 10], new Rng(7));
        Assert.Throws<ShapeMismatchException>(() => sized.Predict(larger));
    }

    [Fact]
    public void FitTrainsAConvFirstModelOnTheCompiledStepWithTheReshapeModelsBits()
    {
        var data = Images(24, seed: 8);
        History Train(Sequential model) =>
            model.Fit(data, Losses.CrossEntropy, new Adam(model.Parameters(), 0.01f), epochs: 2, batchSize: 8, seed: 4);
        var (withReshape, _) = Models(seed: 9);
        var (_, convFirst) = Models(seed: 9);
        var reference = Train(withReshape);
        var history = Train(convFirst);
        Assert.Equal(TrainingEngine.Compiled, history.Engine);
        Assert.Null(history.EngineReason);
        Assert.Equal(reference.Epochs.Select(e => e.Loss), history.Epochs.Select(e => e.Loss));
        Assert.Equal(withReshape.Parameters().Select(p => p.ToArray()), convFirst.Parameters().Select(p => p.ToArray()));
        Assert.Equal(withReshape.Evaluate(data, Losses.CrossEntropy).Loss, convFirst.Evaluate(data, Losses.CrossEntropy).Loss);
    }

    [Fact]
    public void TheLibrarysOwnCallsShareOnePredictorUntilTheLayersOrTheShapeChange()
    {
        var model = new Sequential(new Dense(4, 5), new Relu(), new Dense(5, 2));
        var first = Predictor.For(model, null);
        Assert.Same(first, Predictor.For(model, null));
        var data = new Dataset(Tensor.RandomNormal([6, 4], new Rng(1)), Tensor.FromArray([0f, 1, 0, 1, 1, 0]), name: "rows");
        model.Evaluate(data, Losses.CrossEntropy);
        var forData = Predictor.For(model, data.SampleShape);
        Assert.Same(forData, Predictor.For(model, [4]));
        Assert.NotSame(first, forData);

        // A layer added after the predictor was made: a new predictor, which sees it.
        model.Add(new Softmax());
        var after = Predictor.For(model, [4]);
        Assert.NotSame(forData, after);
        var x = Tensor.RandomNormal([3, 4], new Rng(2));
        var rowSums = model.Predict(x).ToArray().Chunk(2).Select(r => r.Sum());
        Assert.All(rowSums, s => Assert.Equal(1f, s, 1e-6f));
    }
}
