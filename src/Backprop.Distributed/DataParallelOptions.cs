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

    /// <summary>
    /// True (default): with an optimizer that steps each value on its own (<see cref="Optim.Optimizer.StepsElementwise"/>:
    /// SGD, Adam, AdamW), each rank steps only its part of the parameters and the ranks then share the new values
    /// (ZeRO stage 1's step, as PyTorch's ZeroRedundancyOptimizer): each rank's optimizer pass touches 1/N of the
    /// values and their state, and the gradients need only a reduce-scatter before it and the parameters an allgather
    /// after it (the two halves of the allreduce the whole step needs). The step is the same; the optimizer's state
    /// (kept whole on every rank) is gathered at each epoch's end and before each checkpoint. After a sharded step a
    /// gradient holds the ranks' mean only in this rank's part. False: every rank averages every gradient and steps
    /// every value (also what an optimizer that is not elementwise gets).
    /// </summary>
    public bool ShardOptimizer { get; init; } = true;

    /// <summary>
    /// True (default): with a sharded step (<see cref="ShardOptimizer"/>) in the compiled engine, a dense layer whose
    /// inputs and output gradients over the global batch hold fewer values than its weight (N·n·(in + out) ≤ in·out,
    /// rows padded to 16 values) has its weight gradient formed from those factors: the ranks gather every rank's X and
    /// dZ rows, and each forms its own part of dW = Σ_r X_rᵀ·dZ_r / N from all of them, in place of reducing dW
    /// (sufficient factor broadcasting, as Poseidon does). The same arithmetic as forming dW from its own rows, fewer
    /// bytes moved; the sum runs over all N·n rows in one product rather than over the ranks' partial products, so the
    /// result differs from the reduced one in float rounding only. False: every gradient is reduced.
    /// </summary>
    public bool ShareFactors { get; init; } = true;
}
