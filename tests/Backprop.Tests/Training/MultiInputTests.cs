using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// A model with two inputs: rows carry two tensors (<see cref="Dataset.WithMoreInputs"/>), the module overrides
/// Forward over a list, and Fit, Evaluate and Predict feed it both.
/// </summary>
public sealed class MultiInputTests
{
    /// <summary>Two towers, one per input, joined by concatenation.</summary>
    private sealed class TwoInputs : Module
    {
        private readonly Dense left = new(3, 8, rng: new Rng(1));
        private readonly Dense right = new(2, 8, rng: new Rng(2));
        private readonly Dense joined = new(16, 16, rng: new Rng(3));
        private readonly Dense head = new(16, 2, rng: new Rng(4));

        // The head needs a hidden layer of its own: whether two signs agree is not linear in the towers' outputs.
        public override Tensor Forward(IReadOnlyList<Tensor> inputs) =>
            head.Forward(joined.Forward(Tensor.Concat([left.Forward(inputs[0]).Tanh(), right.Forward(inputs[1]).Tanh()], axis: 1)).Tanh());
    }

    // The class is whether the signs of the two inputs' sums agree: neither input alone tells it.
    private static Dataset SignsAgree(int rows, int seed)
    {
        var rng = new Rng(seed);
        var a = Tensor.RandomNormal([rows, 3], rng);
        var b = Tensor.RandomNormal([rows, 2], rng);
        var y = new float[rows];
        for (int i = 0; i < rows; i++)
        {
            float sa = a[i, 0] + a[i, 1] + a[i, 2], sb = b[i, 0] + b[i, 1];
            y[i] = (sa > 0) == (sb > 0) ? 1f : 0f;
        }
        return new Dataset(a, Tensor.FromArray(y), name: "signs").WithMoreInputs(b);
    }

    [Fact]
    public void FitEvaluateAndPredictFeedEveryInputToTheModel()
    {
        var (train, test) = SignsAgree(400, seed: 1).Split(0.8, seed: 2);
        var model = new TwoInputs();
        var history = model.Fit(train, Losses.CrossEntropy, new Adam(model.Parameters(), 0.02f), new FitOptions { Epochs = 60, BatchSize = 32, Validation = test });
        Assert.Equal(TrainingEngine.Graph, history.Engine);
        Assert.Equal("the data has 2 inputs per row; the compiled step takes one", history.EngineReason);
        var evaluation = model.Evaluate(test, Losses.CrossEntropy);
        Assert.True(evaluation.Accuracy > 0.9, $"accuracy {evaluation.Accuracy}; first {history.Epochs[0]}; last {history.Last}");
        var predicted = model.Predict(test.Inputs[0], test.Inputs[1]);
        Tensor direct;
        using (GradMode.NoGrad()) direct = model.Forward(test.Inputs);
        Assert.Equal(direct.ToArray(), predicted.ToArray());
        var correct = Trainer.ToClasses(predicted).Zip(test.Targets.ToArray()).Count(p => p.First == (int)p.Second);
        Assert.Equal(evaluation.Accuracy!.Value, (double)correct / test.Count, 10);
    }

    [Fact]
    public void SplitsSubsetsAndTakesKeepTheInputsOfARowTogether()
    {
        var features = Tensor.FromArray([.. Enumerable.Range(0, 10).Select(i => (float)i)], 10, 1);
        var doubled = Tensor.FromArray([.. Enumerable.Range(0, 10).Select(i => 2f * i)], 10, 1);
        var data = new Dataset(features, Tensor.FromArray([.. Enumerable.Range(0, 10).Select(i => (float)(i % 2))]), name: "rows").WithMoreInputs(doubled);
        var (a, b) = data.Split(0.6, seed: 3);
        foreach (var part in new[] { a, b, data.Subset([7, 2, 7]), data.Take(4) })
        {
            Assert.Equal(2, part.InputCount);
            Assert.Equal(part.Features.ToArray().Select(v => 2 * v), part.Inputs[1].ToArray());
        }
        Assert.Equal("rows: 10 examples, 1 features and 1 more input ([1] per row), 2 classes", data.ToString());
    }

    [Fact]
    public void AnInputWithTheWrongNumberOfRowsIsRefused()
    {
        var data = new Dataset(Tensor.Zeros(4, 2), Tensor.FromArray([0f, 1f, 0f, 1f]), name: "four");
        var e = Assert.Throws<ShapeMismatchException>(() => data.WithMoreInputs(Tensor.Zeros(3, 5)));
        Assert.Equal("Dataset 'four'.WithMoreInputs: input 1 has shape [3,5] but the dataset has 4 rows; each input needs one row per example.", e.Message);
    }

    [Fact]
    public void AOneInputModuleGivenTwoSaysHowToTakeSeveral()
    {
        var e = Assert.Throws<ArgumentException>(() => new Dense(2, 2).Forward([Tensor.Zeros(1, 2), Tensor.Zeros(1, 2)]));
        Assert.Equal("Dense takes one input but was given 2; a module with several inputs overrides Forward(IReadOnlyList<Tensor>).", e.Message);
    }

    private sealed class NoForward : Module;

    [Fact]
    public void AModuleWithNoForwardSaysWhichToOverride()
    {
        var e = Assert.Throws<NotImplementedException>(() => new NoForward().Forward(Tensor.Zeros(1, 2)));
        Assert.Equal("NoForward overrides neither Forward(Tensor) nor Forward(IReadOnlyList<Tensor>) nor ForwardOutputs; a module computes its output in one of them.", e.Message);
    }

    [Fact]
    public void AListForwardModuleCalledWithOneTensorGetsAListOfOne()
    {
        var m = new Summed();
        Assert.Equal([3f], m.Call(Tensor.FromArray([1f, 2f])).ToArray());
        Assert.Equal([6f], m.Call(Tensor.FromArray([1f, 2f]), Tensor.FromArray([3f])).ToArray());
    }

    private sealed class Summed : Module
    {
        public override Tensor Forward(IReadOnlyList<Tensor> inputs) => inputs.Select(t => t.Sum()).Aggregate((x, y) => x + y).Reshape(1);
    }
}
