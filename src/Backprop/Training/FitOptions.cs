using Backprop.Data;
using Backprop.Optim;

namespace Backprop.Training;

/// <summary>How <see cref="Trainer"/>'s <c>Fit</c> runs: length, data, schedule, watching, checkpoints.</summary>
public sealed record FitOptions
{
    /// <summary>Number of passes over the training data.</summary>
    public required int Epochs { get; init; }

    /// <summary>Samples per gradient step.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Held-out data evaluated after each epoch; early stopping monitors its loss.</summary>
    public Dataset? Validation { get; init; }

    /// <summary>
    /// True when <see cref="Validation"/> is the test split rather than a held-out validation split, so that epoch
    /// lines and reports say "test" (copied to <see cref="History.ValidationIsTest"/>).
    /// </summary>
    public bool ValidationIsTest { get; init; }

    /// <summary>Seed for the shuffling order.</summary>
    public int Seed { get; init; }

    /// <summary>Optional early stopping rule.</summary>
    public EarlyStopping? EarlyStopping { get; init; }

    /// <summary>
    /// True (default): stop a diverging run with a <see cref="TrainingDivergedException"/> that names the epoch, the
    /// batch and the first layer whose values went non-finite, and keep the weights the diverging epoch started from.
    /// A run diverges when a batch's loss is NaN or infinite (checked before that batch's update), when an epoch ends
    /// with non-finite weights, or when the epoch's running mean loss, over at least 256 rows (or the whole epoch),
    /// exceeds <see cref="DivergenceFactor"/> times the model's mean loss on the first 256 training rows as the run
    /// found it (measured once, before the first step). False: train to the end whatever the loss does.
    /// </summary>
    public bool StopOnDivergence { get; init; } = true;

    /// <summary>
    /// The growth limit of <see cref="StopOnDivergence"/>: a running epoch loss more than this many times the loss
    /// the model started from has diverged (default 100: two orders of magnitude; a healthy run only goes down from
    /// its starting loss). Infinity keeps only the NaN/infinity checks.
    /// </summary>
    public double DivergenceFactor { get; init; } = 100;

    /// <summary>
    /// The learning-rate schedule; each parameter group's rate when Fit starts is its base rate α₀, which the schedule
    /// scales (<see cref="OneCycleSchedule"/>, <see cref="ReduceOnPlateauSchedule"/> and the others). Null keeps the
    /// rates as they are.
    /// </summary>
    public LearningRateSchedule? Schedule { get; init; }

    /// <summary>
    /// False (default): the schedule's position is the epoch (t = completed epochs, the rate changes between
    /// epochs, as PyTorch's <c>scheduler.step()</c> once per epoch). True: it is the optimizer step (t = steps
    /// taken), so warm-up and cosine move smoothly within an epoch.
    /// </summary>
    public bool SchedulePerStep { get; init; }

    /// <summary>
    /// Clip the gradients' global L2 norm to this value before every optimizer step (PyTorch's
    /// <c>clip_grad_norm_</c>, see <see cref="GradClip.ByNorm"/>). Null (default): no clipping. Must be positive.
    /// </summary>
    public float? ClipGradNorm
    {
        get => clipGradNorm;
        init => clipGradNorm = value is { } v ? GradClip.RequirePositive(v, nameof(ClipGradNorm), "ClipGradNorm") : null;
    }

    /// <summary>
    /// Clamp every gradient element to [−value, value] before every optimizer step (PyTorch's
    /// <c>clip_grad_value_</c>), before <see cref="ClipGradNorm"/> when both are set. Null (default): no clipping.
    /// </summary>
    public float? ClipGradValue
    {
        get => clipGradValue;
        init => clipGradValue = value is { } v ? GradClip.RequirePositive(v, nameof(ClipGradValue), "ClipGradValue") : null;
    }

    private readonly float? clipGradNorm, clipGradValue;

    /// <summary>Called after each epoch with its metrics.</summary>
    public Action<EpochMetrics>? OnEpoch { get; init; }

    /// <summary>
    /// Called once before the first batch with the run's history: its <see cref="History.Engine"/> and
    /// <see cref="History.EngineReason"/> are set (and a resumed run's earlier epochs are in it).
    /// </summary>
    public Action<History>? OnStart { get; init; }

    /// <summary>
    /// The engine that trains: <see cref="TrainingEngine.Auto"/> (default) takes the compiled step when the model
    /// allows it, else the autograd graph, and says why in <see cref="History.EngineReason"/>;
    /// <see cref="TrainingEngine.Compiled"/> throws before training when the compiled step cannot train the model;
    /// <see cref="TrainingEngine.Graph"/> always records the graph (to compare the two, or to debug).
    /// </summary>
    public TrainingEngine Engine { get; init; } = TrainingEngine.Auto;

    /// <summary>Called after each batch, for progress bars; keep it cheap (throttle drawing in the callback).</summary>
    public Action<BatchProgress>? OnBatch { get; init; }

    /// <summary>
    /// Where <c>checkpoint.safetensors</c> is written after every epoch (and when cancelled mid-epoch), atomically:
    /// a crash mid-write leaves the previous checkpoint intact. Null: no checkpoints.
    /// </summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>
    /// Continue from the checkpoint in <see cref="CheckpointDirectory"/>: model, optimizer state, schedule
    /// position, epoch and batch, random generators and history. With the same data, model, optimizer and
    /// options, the run ends bit-identical to one never interrupted.
    /// </summary>
    public bool Resume { get; init; }

    /// <summary>Extra string entries stored in each checkpoint (e.g. a CLI's arguments); read them with <see cref="Checkpoint.ReadMetadata"/>.</summary>
    public IReadOnlyDictionary<string, string>? CheckpointMetadata { get; init; }

    /// <summary>
    /// Cancelling finishes the current batch, writes a checkpoint with the position inside the epoch (when a
    /// directory is set) and returns a history with <see cref="History.Cancelled"/> set.
    /// </summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>
    /// Data-parallel training (Backprop.Distributed's <c>DataParallel</c>): this process trains its shard of each
    /// global batch of <see cref="BatchSize"/> rows and averages gradients with the other ranks; only rank 0 writes
    /// checkpoints. Null (default): one process.
    /// </summary>
    public IDataParallel? Parallel { get; init; }
}

/// <summary>Progress inside an epoch, reported after each batch.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Epochs">Epochs in the run.</param>
/// <param name="Seen">Samples of this epoch trained so far.</param>
/// <param name="Total">Samples in the epoch.</param>
/// <param name="Loss">Mean training loss over the epoch's samples so far.</param>
/// <param name="SamplesPerSecond">Training speed in this epoch so far.</param>
public sealed record BatchProgress(int Epoch, int Epochs, int Seen, int Total, double Loss, double SamplesPerSecond)
{
    /// <summary>Seconds left in this epoch at the current speed (infinity before any speed is known).</summary>
    public double SecondsRemaining => SamplesPerSecond > 0 ? (Total - Seen) / SamplesPerSecond : double.PositiveInfinity;
}
