namespace Backprop.Distributed;

/// <summary>How <see cref="DataParallel"/> trains.</summary>
public sealed record DataParallelOptions
{
    /// <summary>Bytes per gradient allreduce (default 25 MiB, as PyTorch's DDP).</summary>
    public int BucketBytes { get; init; } = GradientAverager.DefaultBucketBytes;

    /// <summary>
    /// True (default): the ranks must start from the same parameters and buffers (the same model spec and seed, as
    /// the CLI gives them); a rank that differs stops the run at start-up. False: rank 0's values are broadcast over
    /// the others' (PyTorch's DDP), so ranks may initialize differently. The model's structure must match either way.
    /// </summary>
    public bool RequireSameStart { get; init; } = true;
}
