using Backprop.Data;
using Backprop.Explain;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// A model with two outputs: rows carry two targets (<see cref="Dataset.WithMoreTargets"/>), the module overrides
/// ForwardOutputs, a <see cref="MultiOutputLoss"/> weighs one loss per output, and Fit, Evaluate and PredictOutputs
/// handle every output.
/// </summary>
public sealed class MultiOutputTests
{
    /// <summary>A shared trunk and two heads: the class of a point and a box around it.</summary>
    private sealed class TwoHeads : Module
    {
        private readonly Dense trunk = new(3, 8, rng: new Rng(1));
        private readonly Dense classes = new(8, 3, rng: new Rng(2));
        private readonly Dense box = new(8, 2, rng: new Rng(3));

        public override IReadOnlyList<Tensor> ForwardOutputs(IReadOnlyList<Tensor> inputs)
        {
            var h = trunk.Call(inputs[0]).Tanh();
            return [classes.Call(h), box.Call(h)];
        }
    }

    private static readonly MultiOutputLoss ClassAndBox = new((Losses.CrossEntropy, 1f), (Losses.MSE, 0.5f));

    // The class is the sign pattern of x0 and x1 (3 classes); the box is (x0 + x2, x1 − x2).
    private static Dataset Points(int rows, int seed)
    {
        var rng = new Rng(seed);
        var x = Tensor.RandomNormal([rows, 3], rng);
        var y = new float[rows];
        var box = new float[rows * 2];
        for (int i = 0; i < rows; i++)
        {
            y[i] = x[i, 0] > 0 ? (x[i, 1] > 0 ? 2 : 1) : 0;
            (box[2 * i], box[2 * i + 1]) = (x[i, 0] + x[i, 2], x[i, 1] - x[i, 2]);
        }
        return new Dataset(x, Tensor.FromArray(y), name: "points").WithMoreTargets(Tensor.FromArray(box, rows, 2));
    }

    [Fact]
    public void FitEqualsAHandWrittenLoopWithTheSameSeedBitForBit()
    {
        var data = Points(100, seed: 4);
        var fitted = new TwoHeads();
        var history = fitted.Fit(data, ClassAndBox, new Sgd(fitted.Parameters(), 0.1f, momentum: 0.9f), new FitOptions { Epochs = 3, BatchSize = 16, Seed = 7 });
        Assert.Equal(TrainingEngine.Graph, history.Engine);
        Assert.Equal("the data has 2 targets per row; the compiled step takes one", history.EngineReason);

        // The same run by hand, as PyTorch code writes it: the loader's row order (drawn by a loader with the same seed
        // over the row numbers), loss = ce(logits, y) + 0.5 * mse(box, b), backward, step.
        var byHand = new TwoHeads();
        var sgd = new Sgd(byHand.Parameters(), 0.1f, momentum: 0.9f);
        var rowNumbers = new Dataset(Tensor.FromArray([.. Enumerable.Range(0, data.Count).Select(i => (float)i)], data.Count, 1), data.Targets);
        var order = new DataLoader(rowNumbers, 16, shuffle: true, seed: 7);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            double ceSum = 0, mseSum = 0, totalSum = 0;
            foreach (var (ids, _) in order)
            {
                var batch = data.Subset([.. ids.ToArray().Select(v => (int)v)]);
                byHand.ZeroGrad();
                var outputs = byHand.CallOutputs(batch.Features);
                var ce = Losses.CrossEntropy.Compute(outputs[0], batch.Targets);
                var mse = Losses.MSE.Compute(outputs[1], batch.AllTargets[1]);
                var total = ce * 1f + mse * 0.5f;
                total.Backward();
                sgd.Step();
                (ceSum, mseSum, totalSum) = (ceSum + ce.Item() * (double)batch.Count, mseSum + mse.Item() * (double)batch.Count, totalSum + total.Item() * (double)batch.Count);
            }
            var metrics = history.Epochs[epoch];
            Assert.Equal(totalSum / data.Count, metrics.Loss);
            Assert.Equal(new[] { ceSum / data.Count, mseSum / data.Count }, metrics.OutputLosses!);
        }
        var a = fitted.NamedParameters().ToList();
        var b = byHand.NamedParameters().ToList();
        Assert.Equal(a.Select(p => p.Name), b.Select(p => p.Name));
        for (int i = 0; i < a.Count; i++) Assert.Equal(b[i].Parameter.ToArray(), a[i].Parameter.ToArray());
    }

    [Fact]
    public void EvaluateReportsEachOutputAndPredictOutputsReturnsThemAll()
    {
        var (train, test) = Points(300, seed: 5).Split(0.8, seed: 6);
        var model = new TwoHeads();
        var history = model.Fit(train, ClassAndBox, new Adam(model.Parameters(), 0.02f), new FitOptions { Epochs = 40, BatchSize = 32, Validation = test });
        var evaluation = model.Evaluate(test, ClassAndBox);
        Assert.True(evaluation.Accuracy > 0.9, $"accuracy {evaluation.Accuracy}; first {history.Epochs[0]}; last {history.Last}");
        Assert.True(evaluation.OutputLosses![1] < 0.05 * history.Epochs[0].OutputLosses![1], $"box loss {evaluation.OutputLosses[1]}, first epoch {history.Epochs[0].OutputLosses![1]}");
        Assert.Equal(evaluation.OutputLosses, history.Last!.ValidationOutputLosses);

        var predicted = model.PredictOutputs(test.Features);
        Assert.Equal(2, predicted.Count);
        Assert.Equal([test.Count, 3], predicted[0].Shape);
        Assert.Equal([test.Count, 2], predicted[1].Shape);
        // One batch holds the whole test set, so Evaluate's numbers are these losses of the predictions, exactly.
        double ce = Losses.CrossEntropy.Compute(predicted[0], test.Targets).Item();
        double mse = Losses.MSE.Compute(predicted[1], test.AllTargets[1]).Item();
        // (Evaluate sums loss·rows and divides by the row count, in double: equal to 12 digits, not always to the bit.)
        Assert.Equal(ce, evaluation.OutputLosses[0], 12);
        Assert.Equal(mse, evaluation.OutputLosses[1], 12);
        Assert.Equal((double)(Losses.CrossEntropy.Compute(predicted[0], test.Targets) * 1f + Losses.MSE.Compute(predicted[1], test.AllTargets[1]) * 0.5f).Item(), evaluation.Loss, 12);
        var correct = Trainer.ToClasses(predicted[0]).Zip(test.Targets.ToArray()).Count(p => p.First == (int)p.Second);
        Assert.Equal((double)correct / test.Count, evaluation.Accuracy!.Value, 10);
    }

    [Fact]
    public void TheWeightedSumLossHasTheGradientFiniteDifferencesGive()
    {
        var model = new TwoHeads();
        var data = Points(6, seed: 8);
        var result = GradCheck.Check(_ => ClassAndBox.Compute(model.CallOutputs(data.Features), data.AllTargets), [.. model.Parameters()]);
        Assert.True(result.WorstRelativeError < 1e-2, result.ToString());

        // Both terms carry gradient, each with its weight: the total's gradient is 1·∇ce + 0.5·∇mse.
        var weight = model.Parameters()[0];
        float[] Gradient(Func<IReadOnlyList<Tensor>, Tensor> loss)
        {
            model.ZeroGrad();
            loss(model.CallOutputs(data.Features)).Backward();
            return weight.Grad!.ToArray();
        }
        var total = Gradient(o => ClassAndBox.Compute(o, data.AllTargets));
        var ceOnly = Gradient(o => Losses.CrossEntropy.Compute(o[0], data.Targets));
        var mseOnly = Gradient(o => Losses.MSE.Compute(o[1], data.AllTargets[1]));
        for (int i = 0; i < total.Length; i++) Assert.Equal(ceOnly[i] + 0.5f * mseOnly[i], total[i], 1e-6f);
    }

    [Fact]
    public void CountsThatDoNotMatchAreEachNamed()
    {
        var data = Points(20, seed: 9);
        var model = new TwoHeads();
        var threeLosses = new MultiOutputLoss(Losses.CrossEntropy, Losses.MSE, Losses.L1);
        var e = Assert.Throws<ArgumentException>(() => model.Fit(data, threeLosses, new Sgd(model.Parameters(), 0.1f), 1));
        Assert.Equal("multi_output: 2 outputs, 3 losses (cross_entropy, mse, l1) and 2 targets; output i is compared with target i by loss i, " +
            "so the three counts must be equal (a model returns several outputs from ForwardOutputs, a dataset carries several targets from WithMoreTargets).", e.Message);

        // A one-output model and a plain loss on data with two targets per row.
        var plain = new Dense(3, 3);
        e = Assert.Throws<ArgumentException>(() => plain.Evaluate(data, Losses.CrossEntropy));
        Assert.StartsWith("multi_output: 1 output, 1 loss (cross_entropy) and 2 targets;", e.Message);
    }

    [Fact]
    public void ASingleOutputIsRefusedForATwoOutputModelWithAPointerToTheOthers()
    {
        var model = new TwoHeads();
        const string expected = "TwoHeads returns 2 outputs, so it has no single output: call CallOutputs (or ForwardOutputs) to get them all, or PredictOutputs to predict them.";
        Assert.Equal(expected, Assert.Throws<InvalidOperationException>(() => model.Call(Tensor.Zeros(1, 3))).Message);
        Assert.Equal(expected, Assert.Throws<InvalidOperationException>(() => model.Predict(Tensor.Zeros(1, 3))).Message);
        var e = Assert.Throws<ArgumentException>(() => ClassAndBox.Compute(Tensor.Zeros(1, 3), Tensor.Zeros(1)));
        Assert.Equal("multi_output(cross_entropy, 0.5·mse) takes 2 outputs and 2 targets as lists, Compute(outputs, targets), but was given one of each.", e.Message);
    }

    [Fact]
    public void SplitsSubsetsAndTakesKeepTheTargetsOfARowTogether()
    {
        var features = Tensor.FromArray([.. Enumerable.Range(0, 10).Select(i => (float)i)], 10, 1);
        var tripled = Tensor.FromArray([.. Enumerable.Range(0, 10).Select(i => 3f * i)], 10, 1);
        var data = new Dataset(features, Tensor.FromArray([.. Enumerable.Range(0, 10).Select(i => (float)(i % 2))]), name: "rows").WithMoreTargets(tripled);
        var (a, b) = data.Split(0.6, seed: 3);
        foreach (var part in new[] { a, b, data.Subset([7, 2, 7]), data.Take(4), data.WithMoreInputs(features).Subset([1, 5]), data.WithFeatures(features) })
        {
            Assert.Equal(2, part.TargetCount);
            Assert.Equal(part.Features.ToArray().Select(v => 3 * v), part.AllTargets[1].ToArray());
            Assert.Equal(part.Features.ToArray().Select(v => v % 2), part.Targets.ToArray());
        }
        Assert.Equal("rows: 10 examples, 1 features, 2 classes and 1 more target ([1] per row)", data.ToString());
        var (x, y) = DataLoader.GatherAll(data, [9, 0]);
        Assert.Equal([9f, 0f], x[0].ToArray());
        Assert.Equal([1f, 0f], y[0].ToArray());
        Assert.Equal([27f, 0f], y[1].ToArray());
    }

    [Fact]
    public void ATargetWithTheWrongNumberOfRowsIsRefused()
    {
        var data = new Dataset(Tensor.Zeros(4, 2), Tensor.FromArray([0f, 1f, 0f, 1f]), name: "four");
        var e = Assert.Throws<ShapeMismatchException>(() => data.WithMoreTargets(Tensor.Zeros(3, 5)));
        Assert.Equal("Dataset 'four'.WithMoreTargets: added target 1 has shape [3,5] but the dataset has 4 rows; each target needs one row per example.", e.Message);
    }

    [Fact]
    public void BadWeightsAreRefused()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new MultiOutputLoss((Losses.MSE, 1f), (Losses.L1, -0.5f)));
        Assert.StartsWith("multi_output: the weight of output 1 (l1) must be a finite number ≥ 0 but is -0.5.", e.Message);
    }

    [Fact]
    public void CallOutputsRunsTheHooksOfAOneOutputModuleAndRefusesToSkipAMultiOutputModulesOwn()
    {
        var dense = new Dense(3, 2, rng: new Rng(1));
        int fired = 0;
        using (dense.RegisterForwardHook((_, _, _) => fired++))
        {
            var outs = dense.CallOutputs(Tensor.Zeros(2, 3));
            Assert.Single(outs);
            Assert.Equal(1, fired);
        }

        var model = new TwoHeads();
        using var hook = model.RegisterForwardHook((_, _, _) => fired++);
        var e = Assert.Throws<InvalidOperationException>(() => model.CallOutputs(Tensor.Zeros(2, 3)));
        Assert.Equal("TwoHeads has hooks, which see one input and one output, but this call has 1 input to a module that may return several outputs; register the hooks on its children instead.", e.Message);
    }

    [Fact]
    public void AOneOutputModelGivesAListOfOneAndAMultiOutputLossOfOneTermIsItsLoss()
    {
        var dense = new Dense(3, 2, rng: new Rng(1));
        var x = Tensor.RandomNormal([4, 3], new Rng(2));
        Assert.Equal(dense.Predict(x).ToArray(), dense.PredictOutputs(x).Single().ToArray());
        var target = Tensor.RandomNormal([4, 2], new Rng(3));
        var one = new MultiOutputLoss((Losses.MSE, 2f));
        Assert.Equal(2f * Losses.MSE.Compute(dense.Call(x), target).Item(), one.Compute(dense.Call(x), target).Item());
    }
}
