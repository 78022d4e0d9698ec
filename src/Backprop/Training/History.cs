namespace Backprop.Training;

/// <summary>Per-epoch metrics of a <c>Fit</c> run, in order, and how the run ended.</summary>
public sealed class History
{
    private readonly List<EpochMetrics> epochs = [];

    /// <summary>One entry per completed epoch.</summary>
    public IReadOnlyList<EpochMetrics> Epochs => epochs;

    /// <summary>The last epoch's metrics.</summary>
    public EpochMetrics Last => epochs.Count > 0 ? epochs[^1] : throw new InvalidOperationException("no epoch has completed.");

    /// <summary>True when early stopping ended the run before the requested number of epochs.</summary>
    public bool StoppedEarly { get; internal set; }

    /// <summary>The epoch whose weights the model holds when early stopping restored the best ones; else the last.</summary>
    public int BestEpoch { get; internal set; }

    /// <summary>True when the run's cancellation token stopped it before its end (see <see cref="CheckpointPath"/> to resume).</summary>
    public bool Cancelled { get; internal set; }

    /// <summary>
    /// The engine that trained: <see cref="TrainingEngine.Compiled"/> or <see cref="TrainingEngine.Graph"/> (never
    /// <see cref="TrainingEngine.Auto"/>).
    /// </summary>
    public TrainingEngine Engine { get; internal set; }

    /// <summary>
    /// Why the graph trained rather than the compiled step, e.g. <c>BatchNorm2d(32) at '2' is not in the compiled
    /// step</c>; null when the compiled step trained.
    /// </summary>
    public string? EngineReason { get; internal set; }

    /// <summary>
    /// True when the epochs' validation metrics were measured on the test split (<see cref="FitOptions.ValidationIsTest"/>),
    /// so they are labelled "test" rather than "validation".
    /// </summary>
    public bool ValidationIsTest { get; internal set; }

    /// <summary>The checkpoint last written by the run, or null when it wrote none.</summary>
    public string? CheckpointPath { get; internal set; }

    /// <summary>Total training time in seconds.</summary>
    public double TotalSeconds => epochs.Sum(e => e.Seconds);

    internal void Add(EpochMetrics m) => epochs.Add(m);
}
