using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Training;

public sealed class IrisTrainingTests
{
    private static (History History, Evaluation Test, Module Model) TrainIris(int seed)
    {
        var (train, test) = Datasets.Iris().Split(0.8, seed: 1);
        var scaler = Standardizer.Fit(train.Features);
        train = scaler.Transform(train);
        test = scaler.Transform(test);
        var rng = new Rng(seed);
        var model = new Sequential(new Dense(4, 16, rng: rng), new Tanh(), new Dense(16, 3, rng: rng));
        var history = model.Fit(train, Losses.CrossEntropy, new Adam(model.Parameters(), lr: 0.01f), epochs: 100, batchSize: 16, validation: test, seed: seed);
        return (history, model.Evaluate(test, Losses.CrossEntropy), model);
    }

    [Fact]
    public void IrisReachesAtLeast93PercentTestAccuracy()
    {
        var (history, test, _) = TrainIris(seed: 1);
        Assert.Equal(100, history.Epochs.Count);
        Assert.True(test.Accuracy >= 0.93, $"test accuracy {test.Accuracy}");
        Assert.True(history.Last.Loss < history.Epochs[0].Loss / 4, "training loss should fall by far");
        Assert.Equal(30, test.Count);
    }

    [Fact]
    public void SameSeedGivesBitIdenticalWeights()
    {
        var a = TrainIris(seed: 7).Model.Parameters();
        var b = TrainIris(seed: 7).Model.Parameters();
        for (int i = 0; i < a.Count; i++) Assert.Equal(a[i].ToArray(), b[i].ToArray());
    }

    [Fact]
    public void EarlyStoppingStopsAndRestoresTheBestEpoch()
    {
        var (train, test) = Datasets.Iris().Split(0.8, seed: 1);
        var model = new Sequential(new Dense(4, 8, rng: new Rng(3)), new Tanh(), new Dense(8, 3, rng: new Rng(4)));
        var history = model.Fit(train, Losses.CrossEntropy, new Adam(model.Parameters(), lr: 0.05f), epochs: 2000, batchSize: 16,
            validation: test, earlyStopping: new EarlyStopping(Patience: 5));
        Assert.True(history.StoppedEarly);
        Assert.True(history.Epochs.Count < 2000);
        var best = history.Epochs.MinBy(e => e.ValidationLoss)!;
        Assert.Equal(best.Epoch, history.BestEpoch);
        Assert.Equal(best.ValidationLoss!.Value, model.Evaluate(test, Losses.CrossEntropy).Loss, 5);
    }
}
