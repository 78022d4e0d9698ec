using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;

namespace Backprop.Training;

/// <summary>
/// What <c>Fit</c> asks of data-parallel training, set as <see cref="FitOptions.Parallel"/>: one process (a rank) of
/// <see cref="WorldSize"/> trains on its shard of each global batch, and after backward the ranks average their
/// gradients so that every replica takes the same optimizer step. The Backprop.Distributed package implements it over
/// Open MPI (and over threads, for tests); the core library only calls it.
/// </summary>
/// <remarks>
/// Fit calls, in order: <see cref="Start"/> once (after a resumed checkpoint is loaded, before the first step);
/// per epoch <see cref="StartEpoch"/>, <see cref="Shard"/> on the epoch's row order, <see cref="AverageGradients"/>
/// after every backward pass (whatever the engine) and <see cref="Step"/> to clip and step, <see cref="EndEpoch"/>
/// after the last batch (before validation); <see cref="BeforeCheckpoint"/> before each checkpoint. Only rank 0
/// writes checkpoints. Every call is collective: every rank must make it,
/// in the same order.
/// </remarks>
public interface IDataParallel
{
    /// <summary>This process's index, 0 to <see cref="WorldSize"/> − 1; rank 0 writes the checkpoints.</summary>
    int Rank { get; }

    /// <summary>The number of processes training together.</summary>
    int WorldSize { get; }

    /// <summary>
    /// Makes every replica start from rank 0's state (and checks that the ranks were given the same model and run),
    /// before the first step.
    /// </summary>
    void Start(Module model, Optimizer optimizer, Dataset train, FitOptions options);

    /// <summary>Called before each epoch's first batch (e.g. to give each rank its own dropout stream).</summary>
    void StartEpoch(Module model);

    /// <summary>
    /// This rank's rows of an epoch whose global row order is <paramref name="order"/> (the same on every rank), in
    /// batches of <see cref="LocalBatchSize"/>: every rank gets as many rows, so all take the same number of steps.
    /// </summary>
    int[] Shard(int[] order);

    /// <summary>This rank's share of a global batch of <paramref name="batchSize"/> rows.</summary>
    int LocalBatchSize(int batchSize);

    /// <summary>
    /// Replaces every trained parameter's gradient by its mean over the ranks, and this rank's summed batch loss and
    /// correct count by the global batch's, so every rank takes (or, for a non-finite loss, skips) the same step.
    /// </summary>
    void AverageGradients(IReadOnlyList<Tensor> parameters, ref double lossSum, ref int correct);

    /// <summary>
    /// Clips the averaged gradients (by value, then by norm, where the limits are not null) and steps
    /// <paramref name="optimizer"/> so that every replica ends with the same parameters: the whole step on every
    /// rank, or each rank its own part of the parameters and then the new values shared (a sharded optimizer).
    /// Called after <see cref="AverageGradients"/> for every batch that is applied.
    /// </summary>
    void Step(Optimizer optimizer, float? clipValue, float? clipNorm);

    /// <summary>
    /// Called on every rank before rank 0 writes a checkpoint (e.g. to gather a sharded optimizer's state into rank
    /// 0's optimizer, so that the checkpoint holds all of it).
    /// </summary>
    void BeforeCheckpoint(Optimizer optimizer);

    /// <summary>Called after each epoch's last batch, before validation (e.g. to share rank 0's BatchNorm statistics).</summary>
    void EndEpoch(Module model);
}
