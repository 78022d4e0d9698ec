namespace Backprop.Training;

/// <summary>
/// Everything about a <c>Fit</c> run that is not a tensor and that the next batch depends on; saved as JSON in
/// each checkpoint. Positions are counted in completed units: <see cref="Epoch"/> epochs are done, and
/// <see cref="Batch"/> batches of epoch <see cref="Epoch"/> + 1 (non-zero only when cancelled mid-epoch).
/// </summary>
internal sealed class TrainingState
{
    public int Epoch { get; set; }
    public int Batch { get; set; }

    /// <summary>The loader's generator as it was when the current epoch drew its row order.</summary>
    public uint[] LoaderRng { get; set; } = [];

    // The current epoch's running sums, so a mid-epoch resume reports the same epoch metrics.
    public double LossSum { get; set; }
    public int Correct { get; set; }
    public int Seen { get; set; }

    /// <summary>For several outputs, each output's own running loss sum this epoch; null for one output.</summary>
    public double[]? OutputLossSums { get; set; }

    // Early stopping.
    public double BestMonitored { get; set; } = double.PositiveInfinity;
    public int BestEpoch { get; set; }
    public int SinceBest { get; set; }
    public bool StoppedEarly { get; set; }

    /// <summary>The divergence guard's reference loss (the model's loss as the run found it); 0 when not measured.</summary>
    public double DivergenceReference { get; set; }

    // Optimizer scalars (its tensors are saved beside the model's).
    public string Optimizer { get; set; } = "";
    public long StepCount { get; set; }
    public float BaseLearningRate { get; set; }
    public float LearningRate { get; set; }

    // Per parameter group (null in checkpoints written before groups: one group, the two rates above), and the state
    // of a plateau schedule (best, bad epochs, cooldown left, reductions).
    public float[]? BaseLearningRates { get; set; }
    public float[]? LearningRates { get; set; }
    public double[]? Plateau { get; set; }

    // What the run was made on, to refuse resuming a different one.
    public int TrainCount { get; set; }
    public int BatchSize { get; set; }
    public int Seed { get; set; }

    public Dictionary<string, uint[]> Generators { get; set; } = [];
    public List<EpochMetrics> History { get; set; } = [];

    public static uint[] Pack((uint, uint, uint, uint) s) => [s.Item1, s.Item2, s.Item3, s.Item4];

    public static (uint, uint, uint, uint) Unpack(uint[] s) => s.Length == 4 ? (s[0], s[1], s[2], s[3])
        : throw new FormatException($"a generator state needs 4 numbers but the checkpoint has {s.Length}.");
}
