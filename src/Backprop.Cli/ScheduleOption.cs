using System.Globalization;
using Backprop.Optim;

namespace Backprop.Cli;

/// <summary>
/// <c>--schedule constant | step:S[,γ] | cosine[:MIN] | onecycle[:MAXLR] | plateau[:F[,P]]</c> and <c>--warmup N</c>,
/// in epochs (the schedule moves once per epoch, as PyTorch's <c>scheduler.step()</c> after each epoch), except
/// one-cycle, which moves every step over the whole run, as PyTorch's <c>OneCycleLR</c> is used.
/// </summary>
internal static class ScheduleOption
{
    public const string Help =
        "  --schedule NAME      learning-rate schedule, per epoch: constant, step:S[,G] (× G, default 0.1,\n" +
        "                       every S epochs), cosine[:MIN] (toward MIN, default 0, over the epochs after warm-up),\n" +
        "                       plateau[:F[,P]] (× F, default 0.1, once the validation loss has not improved by 0.01%\n" +
        "                       for more than P epochs, default 10), or per step: onecycle[:MAXLR] (up from MAXLR/25\n" +
        "                       over the first 30% of the steps, then down to MAXLR/250000; MAXLR defaults to --lr);\n" +
        "                       default: cosine when the run has a fixed length (--epochs without --patience, or\n" +
        "                       tiny data), constant when early stopping ends it\n" +
        "  --warmup N           ramp the rate linearly from 0.1× over the first N epochs, then the schedule (not with\n" +
        "                       onecycle, which warms up by itself)\n";

    /// <summary>
    /// The schedule the options describe (<paramref name="defaultSchedule"/> without --schedule), or null for a
    /// constant rate without warm-up.
    /// </summary>
    /// <param name="cl">The command line.</param>
    /// <param name="epochs">The run's length in epochs.</param>
    /// <param name="defaultSchedule">The schedule without --schedule.</param>
    /// <param name="stepsPerEpoch">Optimizer steps in an epoch (batches), for the per-step one-cycle schedule.</param>
    public static LearningRateSchedule? Parse(CommandLine cl, int epochs, string defaultSchedule = "constant", int stepsPerEpoch = 1)
    {
        string text = cl.String("schedule", defaultSchedule);
        int warmup = cl.Int("warmup", 0, min: 0);
        if (warmup >= epochs && warmup > 0)
            throw new UsageException($"--warmup must be shorter than the run's {epochs} epochs but got {warmup}.");
        int colon = text.IndexOf(':');
        string name = colon < 0 ? text : text[..colon];
        string[] args = colon < 0 ? [] : text[(colon + 1)..].Split(',');
        LearningRateSchedule schedule = name switch
        {
            "constant" when args.Length == 0 => LearningRateSchedule.Constant,
            "step" when args.Length is 1 or 2 => new StepSchedule(Int(args[0], text), args.Length == 2 ? Positive(args[1], text) : 0.1f),
            "cosine" when args.Length <= 1 => new CosineSchedule(epochs - warmup, args.Length == 1 ? NonNegative(args[0], text) : 0f),
            "onecycle" when args.Length <= 1 => OneCycle(args, text, warmup, (long)epochs * stepsPerEpoch),
            "plateau" when args.Length <= 2 => new ReduceOnPlateauSchedule(args.Length >= 1 ? Factor(args[0], text) : 0.1f,
                args.Length == 2 ? Patience(args[1], text) : 10),
            _ => throw new UsageException($"--schedule must be constant, step:S[,G], cosine[:MIN], onecycle[:MAXLR] or plateau[:F[,P]] but got '{text}'."),
        };
        if (warmup > 0) return new WarmupSchedule(schedule, warmup);
        return ReferenceEquals(schedule, LearningRateSchedule.Constant) ? null : schedule;
    }

    /// <summary>Whether Fit must move <paramref name="schedule"/> every step rather than every epoch.</summary>
    public static bool PerStep(LearningRateSchedule? schedule) => schedule is OneCycleSchedule;

    private static OneCycleSchedule OneCycle(string[] args, string text, int warmup, long steps)
    {
        if (warmup > 0) throw new UsageException($"--warmup does not go with --schedule {text}: one-cycle warms up by itself, over the first 30% of the steps.");
        if (steps < 2) throw new UsageException($"--schedule {text} needs at least 2 steps to rise and fall but the run has {steps}.");
        float? max = args.Length == 0 ? null
            : float.TryParse(args[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && float.IsFinite(v) ? v
            : throw new UsageException($"--schedule {text}: the peak rate MAXLR must be a positive number but got '{args[0]}'.");
        return new OneCycleSchedule(steps, max);
    }

    private static float Factor(string s, string text) =>
        float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && v < 1 ? v
            : throw new UsageException($"--schedule {text}: the factor F must be a number between 0 and 1 but got '{s}'.");

    private static int Patience(string s, string text) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0 ? v
            : throw new UsageException($"--schedule {text}: the patience P must be a whole number of epochs ≥ 0 but got '{s}'.");

    private static int Int(string s, string text) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 1 ? v
            : throw new UsageException($"--schedule {text}: the step S must be a whole number of epochs ≥ 1 but got '{s}'.");

    private static float Positive(string s, string text) =>
        float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && float.IsFinite(v) ? v
            : throw new UsageException($"--schedule {text}: the factor G must be a positive number but got '{s}'.");

    private static float NonNegative(string s, string text) =>
        float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0 && float.IsFinite(v) ? v
            : throw new UsageException($"--schedule {text}: the minimum rate must be a number ≥ 0 but got '{s}'.");
}
