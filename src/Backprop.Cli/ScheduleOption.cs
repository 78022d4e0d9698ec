using System.Globalization;
using Backprop.Optim;

namespace Backprop.Cli;

/// <summary>
/// <c>--schedule constant | step:S[,γ] | cosine[:MIN]</c> and <c>--warmup N</c>, all in epochs (the schedule
/// moves once per epoch, as PyTorch's <c>scheduler.step()</c> after each epoch).
/// </summary>
internal static class ScheduleOption
{
    public const string Help =
        "  --schedule NAME      learning-rate schedule, per epoch: constant, step:S[,G] (× G, default 0.1,\n" +
        "                       every S epochs), cosine[:MIN] (toward MIN, default 0, over the epochs after warm-up);\n" +
        "                       default: cosine when the run has a fixed length (--epochs without --patience, or\n" +
        "                       tiny data), constant when early stopping ends it\n" +
        "  --warmup N           ramp the rate linearly from 0.1× over the first N epochs, then the schedule\n";

    /// <summary>
    /// The schedule the options describe (<paramref name="defaultSchedule"/> without --schedule), or null for a
    /// constant rate without warm-up.
    /// </summary>
    public static LearningRateSchedule? Parse(CommandLine cl, int epochs, string defaultSchedule = "constant")
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
            _ => throw new UsageException($"--schedule must be constant, step:S[,G] or cosine[:MIN] but got '{text}'."),
        };
        if (warmup > 0) return new WarmupSchedule(schedule, warmup);
        return ReferenceEquals(schedule, LearningRateSchedule.Constant) ? null : schedule;
    }

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
