using Backprop.Training;

namespace Backprop.Tests.Distributed;

/// <summary>
/// The guarantee of data parallelism: N ranks with global batch B end where one process with batch B ends, up to
/// float summation order (each gradient is Σ_r mean_r / N rather than one mean over B rows). 20 steps: 240 rows,
/// batch 24, 2 epochs; every rank must also end bit-identical to rank 0.
/// </summary>
public sealed class DataParallelEqualityTests
{
    [Theory]
    [InlineData("mlp", 2, "sgd", TrainingEngine.Compiled)]
    [InlineData("mlp", 3, "sgd", TrainingEngine.Compiled)]
    [InlineData("mlp", 2, "adam", TrainingEngine.Graph)]
    [InlineData("mlp", 3, "adam", TrainingEngine.Compiled)]
    [InlineData("cnn", 2, "sgd", TrainingEngine.Compiled)]
    [InlineData("cnn", 3, "sgd", TrainingEngine.Compiled)]
    [InlineData("cnn", 2, "adam", TrainingEngine.Graph)]
    [InlineData("cnn", 3, "adam", TrainingEngine.Compiled)]
    public void NRanksGiveTheParametersOfOneProcess(string kind, int ranks, string optimizer, TrainingEngine engine)
    {
        var (spec, shape) = kind == "mlp" ? (DistributedData.Mlp, new[] { 12 }) : (DistributedData.Cnn, new[] { 1, 8, 8 });
        var data = DistributedData.Classification(240, shape);
        var options = new FitOptions { Epochs = 2, BatchSize = 24, Seed = 3, Engine = engine };

        var alone = DistributedData.TrainAlone(spec, data, optimizer, options);
        var parallel = DistributedData.TrainParallel(ranks, spec, data, optimizer, options);

        var start = DistributedData.Build(spec, data).StateDict().Select(s => s.Tensor.ToArray()).ToArray();
        Assert.True(DistributedData.MaxRelativeDifference(alone, start) > 1e-2, "training did not move the weights: the test could not fail");
        double difference = DistributedData.MaxRelativeDifference(parallel[0], alone);
        Assert.True(difference <= 1e-5, $"{kind}, {ranks} ranks, {optimizer}, {engine}: largest relative difference {difference:E2} > 1e-5");
        for (int r = 1; r < ranks; r++)
            for (int t = 0; t < alone.Length; t++) Assert.Equal(parallel[0][t], parallel[r][t]);
    }

    [Fact]
    public void OneRankIsBitIdenticalToOneProcess()
    {
        var data = DistributedData.Classification(100, [12]);
        var options = new FitOptions { Epochs = 2, BatchSize = 16, Seed = 3 };
        var alone = DistributedData.TrainAlone(DistributedData.Mlp, data, "adam", options);
        var parallel = DistributedData.TrainParallel(1, DistributedData.Mlp, data, "adam", options);
        for (int t = 0; t < alone.Length; t++) Assert.Equal(alone[t], parallel[0][t]);
    }
}
