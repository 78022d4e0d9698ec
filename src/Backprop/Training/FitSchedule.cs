using Backprop.Optim;

namespace Backprop.Training;

/// <summary>
/// Drives <see cref="FitOptions.Schedule"/> for one <c>Fit</c> run: every parameter group's rate is the schedule
/// applied to that group's base rate (its rate when the run started, as PyTorch's schedulers scale each group's
/// <c>initial_lr</c>), set before each epoch or each step; a <see cref="ReduceOnPlateauSchedule"/> (alone or after a
/// warm-up) also observes the monitored loss after each epoch. Its numbers live in <see cref="TrainingState"/>, so a
/// checkpoint resumes them.
/// </summary>
internal sealed class FitSchedule
{
    private readonly Optimizer optimizer;
    private readonly LearningRateSchedule? schedule;
    private readonly ReduceOnPlateauSchedule? plateau;
    private readonly bool perStep;
    private readonly float[] baseRates;

    private FitSchedule(Optimizer optimizer, LearningRateSchedule? schedule, bool perStep, float[] baseRates)
    {
        (this.optimizer, this.schedule, this.perStep, this.baseRates) = (optimizer, schedule, perStep, baseRates);
        var inner = schedule;
        while (inner is WarmupSchedule w) inner = w.After;
        plateau = inner as ReduceOnPlateauSchedule;
    }

    /// <summary>
    /// The driver for a run whose state is <paramref name="state"/>: fresh (base rates are the groups' rates now, a
    /// plateau starts over) or loaded from a checkpoint (its base rates and plateau state).
    /// </summary>
    public static FitSchedule Start(Optimizer optimizer, FitOptions options, TrainingState state)
    {
        var groups = optimizer.Groups;
        // A checkpoint written before parameter groups has one base rate, which every group had (Checkpoint checked).
        state.BaseLearningRates ??= options.Resume
            ? [.. groups.Select(_ => state.BaseLearningRate)]
            : [.. groups.Select(g => g.LearningRate)];
        var driver = new FitSchedule(optimizer, options.Schedule, options.SchedulePerStep, state.BaseLearningRates);
        if (driver.plateau is { } p)
        {
            if (options.Resume && state.Plateau is { } saved) p.LoadState(saved);
            else if (!options.Resume) p.Reset();
        }
        return driver;
    }

    /// <summary>Before epoch <paramref name="epoch"/> (1-based) of a per-epoch schedule: t = epochs completed.</summary>
    public void BeforeEpoch(int epoch)
    {
        if (!perStep) Apply(epoch - 1);
    }

    /// <summary>Before each optimizer step of a per-step schedule: t = steps taken.</summary>
    public void BeforeStep()
    {
        if (perStep) Apply(optimizer.StepCount);
    }

    /// <summary>After an epoch, with the loss it is judged by (validation loss, else training loss).</summary>
    public void AfterEpoch(double monitored) => plateau?.Observe(monitored);

    /// <summary>Writes the group rates and plateau state into <paramref name="state"/> for a checkpoint.</summary>
    public void Save(TrainingState state)
    {
        state.LearningRates = [.. optimizer.Groups.Select(g => g.LearningRate)];
        state.Plateau = plateau?.SaveState();
    }

    private void Apply(long t)
    {
        if (schedule is null) return;
        foreach (var g in optimizer.Groups) g.LearningRate = schedule.Rate(baseRates[g.Index], t);
    }

    /// <summary>Throws when the checkpoint's base rates are not this optimizer's groups' rates (as Fit starts them).</summary>
    public static void CheckBaseRates(string path, TrainingState state, Optimizer optimizer)
    {
        var groups = optimizer.Groups;
        var saved = state.BaseLearningRates ?? [.. groups.Select(_ => state.BaseLearningRate)];
        if (saved.Length != groups.Count)
            throw new InvalidOperationException($"the checkpoint {path} was trained with {saved.Length} parameter group(s) but this optimizer has {groups.Count}.");
        foreach (var g in groups)
            if (saved[g.Index] != g.LearningRate)
                throw new InvalidOperationException(groups.Count == 1
                    ? $"the checkpoint {path} has base learning rate {saved[0]} but this run has {g.LearningRate}."
                    : $"the checkpoint {path} has base learning rate {saved[g.Index]} for parameter group {g.Index} but this run has {g.LearningRate}.");
    }

    /// <summary>Sets every group's rate to the one the checkpoint was at.</summary>
    public static void RestoreRates(TrainingState state, Optimizer optimizer)
    {
        if (state.LearningRates is { } rates && rates.Length == optimizer.Groups.Count)
            foreach (var g in optimizer.Groups) g.LearningRate = rates[g.Index];
        else optimizer.LearningRate = state.LearningRate;
    }
}
