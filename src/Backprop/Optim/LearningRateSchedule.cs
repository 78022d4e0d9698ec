namespace Backprop.Optim;

/// <summary>
/// A learning rate as a pure function of a position t = 0, 1, 2, ...: the base rate α₀ times a factor, with
/// PyTorch's formulas (<c>torch.optim.lr_scheduler</c>). The trainer applies a schedule per epoch (t = completed
/// epochs, as PyTorch's <c>scheduler.step()</c> after each epoch) or per optimizer step, as
/// <see cref="Training.FitOptions.SchedulePerStep"/> says, to each parameter group's base rate. Being stateless, a
/// schedule needs nothing in a checkpoint but t, which the trainer already saves; the exception is
/// <see cref="ReduceOnPlateauSchedule"/>, which follows the losses it observes and whose state the trainer saves too.
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>The learning rate at position <paramref name="t"/> (0-based) for base rate <paramref name="baseRate"/>.</summary>
    public abstract float Rate(float baseRate, long t);

    /// <summary>α(t) = α₀ for every t.</summary>
    public static LearningRateSchedule Constant { get; } = new ConstantSchedule();

    /// <summary>A short description, e.g. <c>cosine(T=10, min=0)</c>.</summary>
    public abstract override string ToString();

    private sealed class ConstantSchedule : LearningRateSchedule
    {
        public override float Rate(float baseRate, long t) => baseRate;

        public override string ToString() => "constant";
    }
}

/// <summary>Step decay, PyTorch's <c>StepLR</c>: α(t) = α₀ · γ^⌊t / S⌋.</summary>
public sealed class StepSchedule : LearningRateSchedule
{
    /// <summary>Multiplies the rate by <paramref name="gamma"/> every <paramref name="stepSize"/> positions.</summary>
    public StepSchedule(int stepSize, float gamma = 0.1f)
    {
        if (stepSize < 1) throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "the step size S must be at least 1.");
        if (!(gamma > 0f) || float.IsInfinity(gamma)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "γ must be a positive number.");
        StepSize = stepSize;
        Gamma = gamma;
    }

    /// <summary>S, positions between decays.</summary>
    public int StepSize { get; }

    /// <summary>γ, the factor applied at each decay.</summary>
    public float Gamma { get; }

    /// <inheritdoc/>
    public override float Rate(float baseRate, long t) => (float)(baseRate * Math.Pow(Gamma, t / StepSize));

    /// <inheritdoc/>
    public override string ToString() => $"step(S={StepSize}, γ={Gamma})";
}

/// <summary>
/// Cosine annealing, PyTorch's <c>CosineAnnealingLR</c> in closed form: α(t) = α_min + (α₀ − α_min)·(1 + cos(π·t/T))/2
/// for t ≤ T, and α_min after T (PyTorch's curve would rise again; a run ends at T).
/// </summary>
public sealed class CosineSchedule : LearningRateSchedule
{
    /// <summary>Anneals from the base rate to <paramref name="minRate"/> over <paramref name="length"/> positions.</summary>
    public CosineSchedule(long length, float minRate = 0f)
    {
        if (length < 1) throw new ArgumentOutOfRangeException(nameof(length), length, "the cosine length T must be at least 1.");
        if (minRate < 0f || !float.IsFinite(minRate)) throw new ArgumentOutOfRangeException(nameof(minRate), minRate, "the minimum rate must be ≥ 0.");
        Length = length;
        MinRate = minRate;
    }

    /// <summary>T, the position at which the rate reaches <see cref="MinRate"/>.</summary>
    public long Length { get; }

    /// <summary>α_min.</summary>
    public float MinRate { get; }

    /// <inheritdoc/>
    public override float Rate(float baseRate, long t) =>
        (float)(MinRate + (baseRate - (double)MinRate) * (1 + Math.Cos(Math.PI * Math.Min(t, Length) / Length)) / 2);

    /// <inheritdoc/>
    public override string ToString() => $"cosine(T={Length}, min={MinRate})";
}

/// <summary>
/// Linear warm-up in front of another schedule, PyTorch's <c>SequentialLR([LinearLR(s, 1, N), after], [N])</c>:
/// α(t) = α₀ · (s + (1 − s)·t/N) for t &lt; N, then <c>after</c> from its own position t − N.
/// </summary>
public sealed class WarmupSchedule : LearningRateSchedule
{
    /// <summary>Ramps from <paramref name="startFactor"/>·α₀ to α₀ over <paramref name="warmup"/> positions, then follows <paramref name="after"/>.</summary>
    public WarmupSchedule(LearningRateSchedule after, long warmup, float startFactor = 0.1f)
    {
        ArgumentNullException.ThrowIfNull(after);
        if (warmup < 1) throw new ArgumentOutOfRangeException(nameof(warmup), warmup, "the warm-up length N must be at least 1.");
        if (!(startFactor > 0f) || startFactor > 1f) throw new ArgumentOutOfRangeException(nameof(startFactor), startFactor, "the start factor s must be in (0, 1].");
        After = after;
        Warmup = warmup;
        StartFactor = startFactor;
    }

    /// <summary>The schedule that follows the warm-up.</summary>
    public LearningRateSchedule After { get; }

    /// <summary>N, positions of warm-up.</summary>
    public long Warmup { get; }

    /// <summary>s, the fraction of the base rate at t = 0.</summary>
    public float StartFactor { get; }

    /// <inheritdoc/>
    public override float Rate(float baseRate, long t) => t < Warmup
        ? (float)(baseRate * (StartFactor + (1 - (double)StartFactor) * t / Warmup))
        : After.Rate(baseRate, t - Warmup);

    /// <inheritdoc/>
    public override string ToString() => $"warmup(N={Warmup}, s={StartFactor}) then {After}";
}
