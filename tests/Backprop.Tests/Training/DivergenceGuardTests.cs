using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// Fit stops a diverging run (FitOptions.StopOnDivergence): it names the epoch, the batch and the first layer whose
/// values went non-finite, and leaves the model with the finite weights the diverging epoch started from.
/// </summary>
public sealed class DivergenceGuardTests
{
    // y = 3a − 2b + c·d + noise over 400 standardized rows: a regression the MSE step can blow up to infinity.
    private static Dataset Regression()
    {
        var rng = new Rng(7);
        var x = new float[400 * 4];
        var y = new float[400];
        for (int i = 0; i < 400; i++)
        {
            for (int j = 0; j < 4; j++) x[i * 4 + j] = rng.NextNormal();
            y[i] = 3 * x[i * 4] - 2 * x[i * 4 + 1] + x[i * 4 + 2] * x[i * 4 + 3] + 0.1f * rng.NextNormal();
        }
        return new Dataset(Tensor.FromArray(x, 400, 4), Tensor.FromArray(y, 400, 1), name: "regression");
    }

    private static Sequential Relu3() =>
        new(new Dense(4, 16, rng: new Rng(1)), new Relu(), new Dense(16, 16, rng: new Rng(2)), new Relu(), new Dense(16, 1, rng: new Rng(3)));

    private static float[][] Weights(Module model) => [.. model.Parameters().Select(p => p.ToArray())];

    [Theory]
    [InlineData(TrainingEngine.Compiled)]
    [InlineData(TrainingEngine.Graph)]
    public void SgdWithAHugeRateStopsAtTheFirstNonFiniteBatchNamingTheLayerAndKeepsTheStartingWeights(TrainingEngine engine)
    {
        var data = Regression();
        var model = Relu3();
        var before = Weights(model);
        var options = new FitOptions { Epochs = 5, BatchSize = 16, Seed = 1, Engine = engine, DivergenceFactor = double.PositiveInfinity };
        var e = Assert.Throws<TrainingDivergedException>(() =>
            model.Fit(data, Losses.MSE, new Sgd(model.Parameters(), 1000f, momentum: 0.9f), options));

        // The same run without the guard: its running loss first turns non-finite at the batch the guard named.
        var unguarded = Relu3();
        int firstNonFinite = 0;
        unguarded.Fit(data, Losses.MSE, new Sgd(unguarded.Parameters(), 1000f, momentum: 0.9f), options with
        {
            Epochs = 1, StopOnDivergence = false,
            OnBatch = p => { if (firstNonFinite == 0 && !double.IsFinite(p.Loss)) firstNonFinite = p.Seen / 16; },
        });
        Assert.Equal(firstNonFinite, e.Batch);

        Assert.Equal(1, e.Epoch);
        Assert.Equal(3, e.Batch);
        Assert.Equal("4", e.Layer);
        Assert.Equal("Dense(16→1)", e.LayerName);
        Assert.Equal(NonFiniteSite.Activations, e.Site);
        Assert.Equal(0, e.KeptEpoch);
        Assert.Empty(e.History.Epochs);
        Assert.Equal("training diverged at epoch 1, batch 3: the loss became infinite; first non-finite values in layer 4 (Dense(16→1)) " +
                     "activations. Kept the weights training started from.", e.Message);
        var after = Weights(model);
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], after[i]);
    }

    [Theory]
    [InlineData(TrainingEngine.Compiled)]
    [InlineData(TrainingEngine.Graph)]
    public void ARunThatDivergesInItsThirdEpochKeepsTheWeightsOfTheSecond(TrainingEngine engine)
    {
        var data = Regression();
        FitOptions Options(int epochs, Optimizer sgd) => new()
        {
            Epochs = epochs, BatchSize = 16, Seed = 2, Engine = engine,
            // After epoch 2 the rate jumps from 0.01 to 10⁴: epoch 3 blows up.
            OnEpoch = m => { if (m.Epoch == 2) sgd.LearningRate = 1e4f; },
        };
        var reference = Relu3();
        var refSgd = new Sgd(reference.Parameters(), 0.01f, momentum: 0.9f);
        reference.Fit(data, Losses.MSE, refSgd, Options(2, refSgd));

        var model = Relu3();
        var sgd = new Sgd(model.Parameters(), 0.01f, momentum: 0.9f);
        var e = Assert.Throws<TrainingDivergedException>(() => model.Fit(data, Losses.MSE, sgd, Options(10, sgd)));
        Assert.Equal(3, e.Epoch);
        Assert.Equal(2, e.KeptEpoch);
        Assert.Equal(2, e.History.Epochs.Count);
        Assert.EndsWith("Kept the weights of epoch 2.", e.Message);
        var kept = Weights(model);
        var expected = Weights(reference);
        for (int i = 0; i < kept.Length; i++)
        {
            Assert.True(kept[i].All(float.IsFinite));
            Assert.Equal(expected[i], kept[i]);
        }
    }

    [Fact]
    public void AFiniteLossThatGrowsAHundredfoldOverTheStartingLossStops()
    {
        var iris = Datasets.Iris();
        var model = Mlp.Create(4, [16], 3, "tanh", null, new Rng(1));
        var before = Weights(model);
        var e = Assert.Throws<TrainingDivergedException>(() => model.Fit(iris, Losses.CrossEntropy, new Adam(model.Parameters(), 100f),
            new FitOptions { Epochs = 5, BatchSize = 16, Seed = 1 }));
        // Iris has 150 rows (< 256): the running mean is compared once it covers the epoch, after its last batch.
        Assert.Equal(1, e.Epoch);
        Assert.Equal(10, e.Batch);
        Assert.Equal(NonFiniteSite.None, e.Site);
        Assert.Null(e.Layer);
        // The reference: the untrained model's mean loss on the first 256 rows (all 150 here).
        double start = Mlp.Create(4, [16], 3, "tanh", null, new Rng(1)).Evaluate(iris, Losses.CrossEntropy).Loss;
        Assert.True(e.Loss > 100 * start, $"{e.Loss} vs {start}");
        Assert.StartsWith("training diverged at epoch 1, batch 10: the epoch's mean loss so far is ", e.Message);
        Assert.Contains($", more than 100 × the loss the model started from ({start.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture)}).", e.Message);
        var after = Weights(model);
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], after[i]);

        // An infinite factor keeps only the NaN check: the same run trains to its end.
        var again = Mlp.Create(4, [16], 3, "tanh", null, new Rng(1));
        var history = again.Fit(iris, Losses.CrossEntropy, new Adam(again.Parameters(), 100f),
            new FitOptions { Epochs = 5, BatchSize = 16, Seed = 1, DivergenceFactor = double.PositiveInfinity });
        Assert.Equal(5, history.Epochs.Count);
        Assert.True(history.Epochs[0].Loss > 100 * start);
    }

    [Theory]
    [InlineData(TrainingEngine.Compiled)]
    [InlineData(TrainingEngine.Graph)]
    public void BatchNormRunningStatisticsAreRestoredWithTheWeights(TrainingEngine engine)
    {
        var data = Regression();
        Sequential Build() => new(new Dense(4, 16, rng: new Rng(1)), new BatchNorm1d(16), new Relu(), new Dense(16, 1, rng: new Rng(3)));
        // One healthy epoch, then a rate that blows the next one up.
        var reference = Build();
        var refSgd = new Sgd(reference.Parameters(), 0.01f);
        reference.Fit(data, Losses.MSE, refSgd, new FitOptions { Epochs = 1, BatchSize = 16, Seed = 3, Engine = engine });

        var model = Build();
        var sgd = new Sgd(model.Parameters(), 0.01f);
        var e = Assert.Throws<TrainingDivergedException>(() => model.Fit(data, Losses.MSE, sgd, new FitOptions
        {
            Epochs = 5, BatchSize = 16, Seed = 3, Engine = engine, OnEpoch = _ => sgd.LearningRate = 1e6f,
        }));
        Assert.Equal(2, e.Epoch);
        Assert.Equal(1, e.KeptEpoch);
        var expected = reference.NamedParameters().Concat(reference.NamedBuffers()).Select(t => t.Item2.ToArray()).ToList();
        var kept = model.NamedParameters().Concat(model.NamedBuffers()).Select(t => t.Item2.ToArray()).ToList();
        Assert.Equal(6 + 3, kept.Count);   // Dense weight and bias twice, BatchNorm γ and β; running mean, variance and count
        for (int i = 0; i < kept.Count; i++) Assert.Equal(expected[i], kept[i]);
    }

    [Fact]
    public void NonFiniteStartingWeightsAreRefusedBeforeTheFirstStep()
    {
        // Behind a ReLU a NaN weight does not reach the loss at once (ReLU maps NaN to 0): it is looked for up front.
        var model = Relu3();
        ((Dense)model.Layers[2]).Weight.AsSpan()[5] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => model.Fit(Regression(), Losses.MSE, new Sgd(model.Parameters(), 0.01f),
            new FitOptions { Epochs = 1, BatchSize = 16 }));
        Assert.Equal("model", e.ParamName);
        Assert.StartsWith("layer 2 (Dense(16→16)) weights hold NaN or infinite values before training; a model cannot train from them.", e.Message);
    }

    [Fact]
    public void TurnedOffTheRunGoesOnThroughNaN()
    {
        var data = Regression();
        var model = Relu3();
        var history = model.Fit(data, Losses.MSE, new Sgd(model.Parameters(), 1000f, momentum: 0.9f),
            new FitOptions { Epochs = 2, BatchSize = 16, Seed = 1, StopOnDivergence = false });
        Assert.Equal(2, history.Epochs.Count);
        Assert.False(double.IsFinite(history.Last.Loss));
        Assert.Contains(Weights(model), w => !w.All(float.IsFinite));
    }

    [Theory]
    [InlineData(TrainingEngine.Compiled)]
    [InlineData(TrainingEngine.Graph)]
    public void ABatchLargerThanTheDataIsOneBatchOfEveryRow(TrainingEngine engine)
    {
        var iris = Datasets.Iris();
        var whole = Mlp.Create(4, [8], 3, "tanh", null, new Rng(1));
        whole.Fit(iris, Losses.CrossEntropy, new Adam(whole.Parameters(), 0.01f), new FitOptions { Epochs = 3, BatchSize = 150, Engine = engine });
        var huge = Mlp.Create(4, [8], 3, "tanh", null, new Rng(1));
        var history = huge.Fit(iris, Losses.CrossEntropy, new Adam(huge.Parameters(), 0.01f),
            new FitOptions { Epochs = 3, BatchSize = int.MaxValue, Engine = engine });
        Assert.Equal(engine, history.Engine);
        var a = Weights(whole);
        var b = Weights(huge);
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i]);
    }

    [Fact]
    public void ABatchSizeBelowOneIsRefusedByName()
    {
        var model = Mlp.Create(4, [8], 3, "tanh", null, new Rng(1));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(Datasets.Iris(), Losses.CrossEntropy,
            new Adam(model.Parameters()), new FitOptions { Epochs = 1, BatchSize = 0 }));
        Assert.StartsWith("FitOptions.BatchSize must be at least 1 but is 0.", e.Message);
    }
}
