namespace Backprop.Text;

/// <summary>
/// How <see cref="TextTrainer"/> trains a language model. The defaults are nanoGPT's character-level CPU recipe: AdamW
/// (β₂ 0.99, decay 0.1 on matrices and embeddings, none on biases and norms), learning rate 1e-3 warmed up linearly
/// then annealed along a cosine to a tenth of it per step, gradient norm clipped at 1, batch 12.
/// </summary>
public sealed record TextTrainingOptions
{
    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 2000;

    /// <summary>Windows per step.</summary>
    public int Batch { get; init; } = 12;

    /// <summary>Peak learning rate.</summary>
    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>The rate the cosine ends at; null: a tenth of <see cref="LearningRate"/>.</summary>
    public float? MinLearningRate { get; init; }

    /// <summary>Linear warm-up steps; null: min(100, steps/10).</summary>
    public int? Warmup { get; init; }

    /// <summary>AdamW's decoupled weight decay on matrices and embeddings (rank ≥ 2).</summary>
    public float WeightDecay { get; init; } = 0.1f;

    /// <summary>AdamW's β₂.</summary>
    public float Beta2 { get; init; } = 0.99f;

    /// <summary>Largest global gradient norm (null: no clipping).</summary>
    public float? ClipGradNorm { get; init; } = 1f;

    /// <summary>Seed of the window sampler (the model's weights come from whoever built it).</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Steps between reports (each evaluates the validation loss); 0: only at the end.</summary>
    public int EvalEvery { get; init; } = 250;

    /// <summary>Windows of each part the reported losses average over (spread evenly, the same every time).</summary>
    public int EvalWindows { get; init; } = 96;

    /// <summary>
    /// Where <c>checkpoint.safetensors</c> is written (<see cref="TextCheckpoint"/>) at every report, when the run ends
    /// and when it is stopped, atomically. Null: no checkpoints.
    /// </summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>
    /// Continue from the checkpoint in <see cref="CheckpointDirectory"/>: weights, AdamW's moments and step count, the
    /// window sampler's and dropout's generators. With the same data, model and options the run ends bit-identical
    /// to one never interrupted.
    /// </summary>
    public bool Resume { get; init; }

    /// <summary>Extra string entries stored in each checkpoint (e.g. a CLI's option values); read them with <see cref="TextCheckpoint.ReadMetadata"/>.</summary>
    public IReadOnlyDictionary<string, string>? CheckpointMetadata { get; init; }

    /// <summary>The warm-up length these options give for their step count.</summary>
    public int WarmupSteps => Warmup ?? Math.Min(100, Steps / 10);
}
