namespace Backprop.Distributed;

/// <summary>
/// Which rows each rank trains, as PyTorch's <c>DistributedSampler</c>: the epoch's row order (the same on every
/// rank) is padded by repeating its first rows to a multiple of the number of ranks N, and rank r takes positions
/// r, r + N, r + 2N, …; every rank gets ⌈count / N⌉ rows, so all take the same number of steps. With local batches of
/// b rows, the ranks' batch t together are positions [t·bN, (t+1)·bN) of the padded order: one process's batch t
/// of bN rows.
/// </summary>
public sealed class DistributedSampler
{
    private readonly int count, rank, size, seed;
    private readonly bool shuffle;

    /// <summary>A sampler for a training loop of your own.</summary>
    /// <param name="count">Rows in the dataset.</param>
    /// <param name="rank">This rank.</param>
    /// <param name="size">Number of ranks.</param>
    /// <param name="seed">Seed of the shuffle: epoch e's order is drawn from seed + e, the same on every rank.</param>
    /// <param name="shuffle">Shuffle each epoch (default); otherwise dataset order.</param>
    public DistributedSampler(int count, int rank, int size, int seed = 0, bool shuffle = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        if (rank < 0 || rank >= size) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in 0..{size - 1}.");
        (this.count, this.rank, this.size, this.seed, this.shuffle) = (count, rank, size, seed, shuffle);
    }

    /// <summary>Rows each rank visits per epoch: ⌈count / N⌉.</summary>
    public int RowsPerRank => (count + size - 1) / size;

    /// <summary>This rank's rows in epoch <paramref name="epoch"/>, in the order to train them.</summary>
    public int[] Indices(int epoch)
    {
        var order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        if (shuffle) new Rng(seed + (long)epoch).Shuffle(order.AsSpan());
        return Shard(order, rank, size);
    }

    /// <summary>
    /// Rank <paramref name="rank"/>'s share of <paramref name="order"/>: positions rank, rank + N, … of the order
    /// padded (by repeating its start) to a multiple of N.
    /// </summary>
    public static int[] Shard(ReadOnlySpan<int> order, int rank, int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        if (order.Length == 0) throw new ArgumentException("the order to shard is empty.", nameof(order));
        int perRank = (order.Length + size - 1) / size;
        var shard = new int[perRank];
        for (int i = 0; i < perRank; i++) shard[i] = order[(i * size + rank) % order.Length];
        return shard;
    }
}
