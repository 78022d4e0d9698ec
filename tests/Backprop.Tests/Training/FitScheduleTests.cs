using System.Text.Json.Nodes;
using Backprop.Data;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// Schedules in Fit with parameter groups: each group scaled from its own base rate, per step or per epoch;
/// reduce-on-plateau driven by the monitored loss; group rates and plateau state through a checkpoint, and a
/// checkpoint written before groups still resuming.
/// </summary>
public sealed class FitScheduleTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-sched-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static readonly Dataset Train = Standardizer.Fit(Datasets.Iris().Features).Transform(Datasets.Iris());

    private static Sequential NewModel() => new(new Dense(4, 8, rng: new Rng(5)), new Tanh(), new Dense(8, 3, rng: new Rng(6)));

    // The first layer at 0.05, the rest at 0.005.
    private static Optimizer Grouped(Sequential model) => new Adam(
        [new ParameterGroup(model.Layers[0].Parameters()) { LearningRate = 0.05f }, new ParameterGroup(model.Layers[2].Parameters())], lr: 0.005f);

    [Fact]
    public void APerStepScheduleScalesEachGroupFromItsOwnBaseRate()
    {
        var model = NewModel();
        var optimizer = Grouped(model);
        var schedule = new WarmupSchedule(new CosineSchedule(40, 0.001f), 5);
        var seen = new List<(long Step, float A, float B)>();
        model.Fit(Train, Losses.CrossEntropy, optimizer, new FitOptions
        {
            Epochs = 5, BatchSize = 16, Schedule = schedule, SchedulePerStep = true,
            OnBatch = _ => seen.Add((optimizer.StepCount - 1, optimizer.Groups[0].LearningRate, optimizer.Groups[1].LearningRate)),
        });
        Assert.Equal(50, seen.Count);
        foreach (var (step, a, b) in seen)
        {
            Assert.Equal(schedule.Rate(0.05f, step), a);
            Assert.Equal(schedule.Rate(0.005f, step), b);
        }
        Assert.NotEqual(seen[0].A / seen[0].B, seen[^1].A / seen[^1].B);   // the floor is absolute, as PyTorch's eta_min
    }

    [Fact]
    public void OneCycleWithoutAPeakKeepsTheGroupsRatio()
    {
        var model = NewModel();
        var optimizer = Grouped(model);
        var rates = new List<(float A, float B)>();
        var cycle = new OneCycleSchedule(15);
        model.Fit(Train, Losses.CrossEntropy, optimizer, new FitOptions
        {
            Epochs = 3, BatchSize = 30, Schedule = cycle, SchedulePerStep = true,
            OnBatch = _ => rates.Add((optimizer.Groups[0].LearningRate, optimizer.Groups[1].LearningRate)),
        });
        Assert.Equal(15, rates.Count);
        Assert.Equal(0.05f / 25, rates[0].A, 6);
        for (int t = 0; t < rates.Count; t++)
        {
            Assert.Equal(cycle.Rate(0.05f, t), rates[t].A);
            Assert.Equal(cycle.Rate(0.005f, t), rates[t].B);
            Assert.Equal(10f, rates[t].A / rates[t].B, 4);
        }
        Assert.InRange(rates.Max(r => r.A), 0.049f, 0.05f);
    }

    private static FitOptions PlateauOptions(int epochs, ReduceOnPlateauSchedule plateau, string? dir = null, bool resume = false) => new()
    {
        // A relative threshold of 0.9 asks every epoch to cut the validation loss tenfold: from the second epoch on
        // each is a bad one, and with patience 0 each reduces the rate.
        Epochs = epochs, BatchSize = 16, Seed = 2, Validation = Train.Take(50), Schedule = plateau,
        CheckpointDirectory = dir, Resume = resume,
    };

    [Fact]
    public void PlateauReducesTheRateAfterEpochsWithoutImprovement()
    {
        var model = NewModel();
        var optimizer = Grouped(model);
        var history = model.Fit(Train, Losses.CrossEntropy, optimizer, PlateauOptions(5, new ReduceOnPlateauSchedule(factor: 0.5f, patience: 0, threshold: 0.9f)));
        // Rates during epochs 1..5: a reduction after epoch 2 takes effect from epoch 3.
        Assert.Equal([0.05f, 0.05f, 0.025f, 0.0125f, 0.00625f], history.Epochs.Select(e => e.LearningRate));
        // The other group follows from its own base rate; the reduction after the last epoch waits for a next one.
        Assert.Equal(0.005f * 0.5f * 0.5f * 0.5f, optimizer.Groups[1].LearningRate, 7);
    }

    [Fact]
    public void PlateauStateAndGroupRatesResumeFromACheckpoint()
    {
        var plateau = new ReduceOnPlateauSchedule(factor: 0.5f, patience: 1, threshold: 0.9f, cooldown: 1);
        var whole = NewModel();
        var wholeOpt = Grouped(whole);
        var wholeHistory = whole.Fit(Train, Losses.CrossEntropy, wholeOpt, PlateauOptions(8, plateau));

        var first = NewModel();
        first.Fit(Train, Losses.CrossEntropy, Grouped(first), PlateauOptions(4, new ReduceOnPlateauSchedule(factor: 0.5f, patience: 1, threshold: 0.9f, cooldown: 1), dir));
        var resumed = NewModel();
        var resumedOpt = Grouped(resumed);
        var fresh = new ReduceOnPlateauSchedule(factor: 0.5f, patience: 1, threshold: 0.9f, cooldown: 1);
        var history = resumed.Fit(Train, Losses.CrossEntropy, resumedOpt, PlateauOptions(8, fresh, dir, resume: true));

        Assert.True(plateau.Reductions >= 2, $"the run should reduce at least twice but reduced {plateau.Reductions} times");
        Assert.Equal(plateau.Reductions, fresh.Reductions);
        Assert.Equal(wholeHistory.Epochs.Select(e => (e.Loss, e.LearningRate)), history.Epochs.Select(e => (e.Loss, e.LearningRate)));
        Assert.Equal(wholeOpt.Groups.Select(g => g.LearningRate), resumedOpt.Groups.Select(g => g.LearningRate));
        Assert.Equal(whole.Parameters().Select(p => p.ToArray()), resumed.Parameters().Select(p => p.ToArray()));
    }

    [Fact]
    public void ACheckpointWrittenBeforeParameterGroupsStillResumes()
    {
        FitOptions Options(int epochs, bool resume = false) => new()
        {
            Epochs = epochs, BatchSize = 16, Seed = 4, Schedule = new CosineSchedule(4), CheckpointDirectory = dir, Resume = resume,
        };
        var whole = NewModel();
        var wholeHistory = whole.Fit(Train, Losses.CrossEntropy, new Adam(whole.Parameters(), lr: 0.02f), Options(4));

        var first = NewModel();
        first.Fit(Train, Losses.CrossEntropy, new Adam(first.Parameters(), lr: 0.02f), Options(2));
        // Strip what this version added to the training state, as an older Backprop wrote it.
        var path = Checkpoint.PathIn(dir);
        var (tensors, metadata) = SafeTensors.Read(path);
        var state = JsonNode.Parse(metadata["backprop.checkpoint"])!.AsObject();
        Assert.True(state.Remove("BaseLearningRates") && state.Remove("LearningRates") && state.Remove("Plateau"));
        metadata["backprop.checkpoint"] = state.ToJsonString();
        SafeTensors.Write(path, [.. tensors.Select(kv => (kv.Key, kv.Value))], metadata);

        var resumed = NewModel();
        var history = resumed.Fit(Train, Losses.CrossEntropy, new Adam(resumed.Parameters(), lr: 0.02f), Options(4, resume: true));
        Assert.Equal(wholeHistory.Epochs.Select(e => (e.Loss, e.LearningRate)), history.Epochs.Select(e => (e.Loss, e.LearningRate)));
        Assert.Equal(whole.Parameters().Select(p => p.ToArray()), resumed.Parameters().Select(p => p.ToArray()));
    }

    [Fact]
    public void ResumingWithOtherGroupRatesIsRefusedByGroup()
    {
        var first = NewModel();
        first.Fit(Train, Losses.CrossEntropy, Grouped(first), new FitOptions { Epochs = 1, CheckpointDirectory = dir });
        var other = NewModel();
        var optimizer = new Adam([new ParameterGroup(other.Layers[0].Parameters()) { LearningRate = 0.05f }, new ParameterGroup(other.Layers[2].Parameters())], lr: 0.001f);
        var e = Assert.Throws<InvalidOperationException>(() => other.Fit(Train, Losses.CrossEntropy, optimizer, new FitOptions { Epochs = 2, CheckpointDirectory = dir, Resume = true }));
        Assert.Equal($"the checkpoint {Checkpoint.PathIn(dir)} has base learning rate 0.005 for parameter group 1 but this run has 0.001.", e.Message);
        var single = NewModel();
        e = Assert.Throws<InvalidOperationException>(() => single.Fit(Train, Losses.CrossEntropy, new Adam(single.Parameters(), lr: 0.05f), new FitOptions { Epochs = 2, CheckpointDirectory = dir, Resume = true }));
        Assert.Equal($"the checkpoint {Checkpoint.PathIn(dir)} was trained with 2 parameter group(s) but this optimizer has 1.", e.Message);
    }
}
