namespace Backprop.Distributed;

/// <summary>
/// The collective operations data-parallel training needs, among <see cref="Size"/> processes (ranks). Every call is
/// collective: every rank makes it, in the same order, with buffers of the same length; a call returns on a rank once
/// that rank's part is done. <see cref="MpiCommunicator"/> runs over Open MPI; <see cref="ThreadCommunicator"/> runs
/// the ranks as threads of one process, for tests.
/// </summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This process's index, 0 to <see cref="Size"/> − 1.</summary>
    int Rank { get; }

    /// <summary>The number of ranks.</summary>
    int Size { get; }

    /// <summary>Replaces <paramref name="data"/> on every rank by the element-wise <paramref name="operation"/> over the ranks' buffers; every rank gets the same bits.</summary>
    void AllReduce(Span<float> data, ReduceOperation operation = ReduceOperation.Sum);

    /// <summary>Replaces <paramref name="data"/> on every rank by the element-wise <paramref name="operation"/> over the ranks' buffers; every rank gets the same bits.</summary>
    void AllReduce(Span<double> data, ReduceOperation operation = ReduceOperation.Sum);

    /// <summary>
    /// The first half of an allreduce: afterwards this rank's part of <paramref name="data"/> (<see cref="RankParts"/>)
    /// holds the <see cref="ReduceOperation.Sum"/> or <see cref="ReduceOperation.Mean"/> over the ranks' buffers, the
    /// same bits <see cref="AllReduce(Span{float}, ReduceOperation)"/> gives; the rest of the buffer is unspecified.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="operation"/> is Max or Min.</exception>
    void ReduceScatter(Span<float> data, ReduceOperation operation = ReduceOperation.Sum);

    /// <summary>
    /// The second half of an allreduce: every rank's part of <paramref name="data"/> (<see cref="RankParts"/>) is
    /// copied into the same place of every other rank's buffer.
    /// </summary>
    void AllGather(Span<float> data);

    /// <summary>Copies <paramref name="root"/>'s <paramref name="data"/> into every other rank's.</summary>
    void Broadcast(Span<float> data, int root = 0);

    /// <summary>Copies <paramref name="root"/>'s <paramref name="data"/> into every other rank's.</summary>
    void Broadcast(Span<double> data, int root = 0);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();

    /// <summary>Ends every rank of the job with <paramref name="exitCode"/> (MPI_Abort): for a fault no rank can recover from.</summary>
    void Abort(int exitCode);
}

/// <summary>How <see cref="ICommunicator.AllReduce(Span{float}, ReduceOperation)"/> combines the ranks' values.</summary>
public enum ReduceOperation
{
    /// <summary>x₀ + x₁ + … + x_{N−1}.</summary>
    Sum,

    /// <summary>The largest.</summary>
    Max,

    /// <summary>The smallest.</summary>
    Min,

    /// <summary>
    /// (x₀ + x₁ + … + x_{N−1}) / N: the sum, divided by the rank count as a division per value would round it (for
    /// N a power of two, a multiplication by the exact 1/N gives those bits). NCCL's ncclAvg: a gradient average in
    /// one call, which a communicator may fold into its last pass over the data.
    /// </summary>
    Mean,
}
