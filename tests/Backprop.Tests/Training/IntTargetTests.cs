using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// Class labels held as integers (<see cref="Dataset.IntTargets"/>): carried exactly through row selection whatever
/// their size, read as integers by cross_entropy and nll (<see cref="IClassIndexLoss"/>) in Fit and Evaluate, and
/// refused with the row and value when they are not class indices.
/// </summary>
public sealed class IntTargetTests
{
    // Ids that float32 rounds: 2²⁴ + 1 → 2²⁴, 2²⁴ + 3 → 2²⁴ + 4, 2³⁰ + 1 → 2³⁰.
    private static readonly int[] LargeIds = [0, 16_777_217, 16_777_219, 1_073_741_825, 5, 16_777_217, 7, 123_456_789, 16_777_219, 5];

    private static Dataset RowNumbered(int[] labels) =>
        new(Tensor.FromArray([.. Enumerable.Range(0, labels.Length).Select(i => (float)i)], labels.Length, 1), IntTensor.FromArray(labels), name: "ids");

    [Fact]
    public void LabelsAbove2To24AreCarriedExactlyThroughEveryRowSelection()
    {
        var data = RowNumbered(LargeIds);
        Assert.Equal(LargeIds, data.IntTargets!.ToArray());
        Assert.Equal(16_777_216f, data.Targets[1]);   // the float copy is what float32 can hold; the integers are not
        Assert.Equal(1_073_741_826, data.NumClasses);
        Assert.Equal("1073741825", data.ClassNames![1_073_741_825]);

        var (train, test) = data.Split(0.6, seed: 2);
        var parts = new[] { train, test, data.Subset([3, 1, 2, 1]), data.Take(4), data.WithFeatures(data.Features), data.WithMoreInputs(data.Features),
            data.WithSampleShape(1), data.WithMoreTargets(data.Features).Subset([9, 2]) };
        foreach (var part in parts)
        {
            Assert.NotNull(part.IntTargets);
            // Features hold the row number, so every row's label can be checked against the original.
            Assert.Equal(part.Features.ToArray().Select(row => LargeIds[(int)row]), part.IntTargets!.ToArray());
        }
        Assert.Equal(6, train.Count);
        // Stratified by the ids present: each id with two rows puts one in each part.
        foreach (int id in new[] { 16_777_217, 16_777_219, 5 })
        {
            Assert.Single(train.IntTargets!.ToArray(), id);
            Assert.Single(test.IntTargets!.ToArray(), id);
        }
        Assert.Equal([1_073_741_825, 16_777_217], data.IntTargets!.Rows([3, 5]).ToArray());
    }

    [Fact]
    public void ASplitOfIntegerLabelsIsTheSplitOfTheSameFloatLabels()
    {
        var labels = Enumerable.Range(0, 40).Select(i => i * 7 % 5).ToArray();
        var x = Tensor.RandomNormal([40, 2], new Rng(1));
        var (intTrain, intTest) = new Dataset(x, IntTensor.FromArray(labels)).Split(0.7, seed: 3);
        var (floatTrain, floatTest) = new Dataset(x, Tensor.FromArray([.. labels.Select(v => (float)v)])).Split(0.7, seed: 3);
        Assert.Equal(floatTrain.Features.ToArray(), intTrain.Features.ToArray());
        Assert.Equal(floatTest.Features.ToArray(), intTest.Features.ToArray());
        Assert.Equal(floatTrain.Targets.ToArray().Select(v => (int)v), intTrain.IntTargets!.ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CrossEntropyAndNllGiveTheSameLossAndGradientForIntegerAndFloatLabels(bool withOptions)
    {
        int[] labels = [2, 0, 1, 2, 1];
        var ints = IntTensor.FromArray(labels);
        var floats = Tensor.FromArray([.. labels.Select(v => (float)v)]);
        var losses = withOptions
            ? new IClassIndexLoss[] { new CrossEntropyLoss([0.5f, 2f, 1f], labelSmoothing: 0.1f, ignoreIndex: 1), new NllLoss([0.5f, 2f, 1f], ignoreIndex: 1, reduction: LossReduction.Sum) }
            : [new CrossEntropyLoss(), new NllLoss()];
        foreach (var loss in losses)
        {
            var z1 = Tensor.RandomNormal([5, 3], new Rng(4)).RequireGrad();
            var z2 = Tensor.RandomNormal([5, 3], new Rng(4)).RequireGrad();
            var byInt = loss.Compute(z1, ints);
            var byFloat = loss.Compute(z2, floats);
            Assert.Equal(byFloat.Item(), byInt.Item());
            byInt.Backward();
            byFloat.Backward();
            Assert.Equal(z2.Grad!.ToArray(), z1.Grad!.ToArray());
            Assert.NotEqual(0f, z1.Grad!.ToArray().Select(MathF.Abs).Max());
        }
    }

    [Fact]
    public void ALabelThatIsNotAClassIsRefusedWithItsRowAndValue()
    {
        var z = Tensor.Zeros(4, 3);
        var e = Assert.Throws<ArgumentException>(() => Losses.CrossEntropy.Compute(z, IntTensor.FromArray([0, 1, -1, 2])));
        Assert.Equal("cross_entropy: target 2 is -1, but class indices must be whole numbers in 0..2.", e.Message);
        e = Assert.Throws<ArgumentException>(() => new NllLoss(ignoreIndex: -100).Compute(z, IntTensor.FromArray([0, 16_777_217, 1, 2])));
        Assert.Equal("nll: target 1 is 16777217, but class indices must be whole numbers in 0..2 (or the ignored index -100).", e.Message);

        var x = Tensor.Zeros(3, 1);
        e = Assert.Throws<ArgumentException>(() => new Dataset(x, IntTensor.FromArray([0, -4, 1]), name: "d"));
        Assert.StartsWith("Dataset 'd': target 1 must be a class index (a non-negative integer) but is -4.", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Dataset(x, IntTensor.FromArray([0, 1, 2]), classNames: ["a", "b"], name: "d"));
        Assert.StartsWith("Dataset 'd': target 2 must be a class index (an integer in 0..1) but is 2.", e.Message);
        // Float labels become integers through IntTensor.FromTensor, which names a fraction's position.
        e = Assert.Throws<ArgumentException>(() => IntTensor.FromTensor(Tensor.FromArray([0f, 1f, 1.5f])));
        Assert.Equal("IntTensor.FromTensor: element 2 is 1.5, not a whole number in the int range.", e.Message);
        Assert.Throws<ShapeMismatchException>(() => new Dataset(x, IntTensor.FromArray([0, 1, 2, 1], 2, 2)));
    }

    /// <summary>Cross-entropy that records the integer labels it is given and refuses float ones.</summary>
    private sealed class RecordingLoss : IClassIndexLoss
    {
        public List<int> Seen { get; } = [];

        public string Name => "cross_entropy";

        public Tensor Compute(Tensor prediction, IntTensor target)
        {
            Seen.AddRange(target.ToArray());
            return Losses.CrossEntropy.Compute(prediction, target);
        }

        public Tensor Compute(Tensor prediction, Tensor target) => throw new InvalidOperationException("the float path was taken");
    }

    [Fact]
    public void FitAndEvaluateGiveAClassIndexLossTheIntegerLabelsOfEachBatch()
    {
        var labels = Enumerable.Range(0, 30).Select(i => i % 3).ToArray();
        var data = new Dataset(Tensor.FromArray([.. Enumerable.Range(0, 30).Select(i => (float)i)], 30, 1), IntTensor.FromArray(labels));
        var model = new Dense(1, 3, rng: new Rng(1));
        var loss = new RecordingLoss();
        var history = model.Fit(data, loss, new Sgd(model.Parameters(), 0.01f), new FitOptions { Epochs = 2, BatchSize = 7, Engine = TrainingEngine.Graph, StopOnDivergence = false });
        Assert.Equal(60, loss.Seen.Count);
        Assert.Equal(Enumerable.Repeat(labels.Order(), 2).SelectMany(l => l), loss.Seen.Take(30).Order().Concat(loss.Seen.Skip(30).Order()));
        loss.Seen.Clear();
        var evaluation = model.Evaluate(data, loss, batchSize: 8);
        Assert.Equal(labels, loss.Seen);
        var correct = model.PredictClasses(data.Features).Zip(labels).Count(p => p.First == p.Second);
        Assert.Equal((double)correct / 30, evaluation.Accuracy);
        Assert.NotNull(history.Last!.Accuracy);
    }

    [Theory]
    [InlineData(TrainingEngine.Graph)]
    [InlineData(TrainingEngine.Auto)]
    public void TrainingOnIntegerLabelsEqualsTrainingOnTheSameFloatLabels(TrainingEngine engine)
    {
        var iris = Datasets.Iris();
        var asInts = new Dataset(iris.Features, IntTensor.FromTensor(iris.Targets), iris.FeatureNames, iris.ClassNames, iris.Name);
        Sequential Model() => new(new Dense(4, 8, rng: new Rng(1)), new Tanh(), new Dense(8, 3, rng: new Rng(2)));
        var a = Model();
        var b = Model();
        var options = new FitOptions { Epochs = 3, BatchSize = 16, Seed = 4, Engine = engine };
        var ha = a.Fit(iris, Losses.CrossEntropy, new Adam(a.Parameters(), 0.01f), options);
        var hb = b.Fit(asInts, Losses.CrossEntropy, new Adam(b.Parameters(), 0.01f), options);
        Assert.Equal(ha.Engine, hb.Engine);
        Assert.Equal(ha.Epochs.Select(m => (m.Loss, m.Accuracy)), hb.Epochs.Select(m => (m.Loss, m.Accuracy)));
        Assert.Equal(a.Parameters().SelectMany(p => p.ToArray()), b.Parameters().SelectMany(p => p.ToArray()));
        Assert.Equal(a.Evaluate(iris, Losses.CrossEntropy), b.Evaluate(asInts, Losses.CrossEntropy));
    }

    [Fact]
    public void RelabellingKeepsTheLabelsIntegers()
    {
        var data = new Dataset(Tensor.Zeros(3, 1), IntTensor.FromArray([0, 1, 1]), classNames: ["cat", "dog"]);
        var relabelled = data.WithClasses(["dog", "bird", "cat"]);
        Assert.Equal([2, 0, 0], relabelled.IntTargets!.ToArray());
        Assert.Equal([2f, 0f, 0f], relabelled.Targets.ToArray());
    }
}
