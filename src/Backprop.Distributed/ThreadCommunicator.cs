namespace Backprop.Distributed;

/// <summary>
/// N ranks as N threads of one process, for tests and experiments without <c>mpirun</c>: the same collectives as
/// <see cref="MpiCommunicator"/>, reduced in rank order (x₀ + x₁ + … on every rank, so every rank gets the same bits).
/// A rank that throws, aborts or stops calling ends the others' waiting with an exception instead of a hang.
/// </summary>
public sealed class ThreadCommunicator : ICommunicator
{
    private sealed class Group(int size, TimeSpan timeout)
    {
        public readonly Barrier Barrier = new(size);
        public readonly Array?[] Slots = new Array?[size];
        public readonly CancellationTokenSource Aborted = new();
        public readonly TimeSpan Timeout = timeout;
        public string? Reason;
    }

    private readonly Group group;

    private ThreadCommunicator(Group group, int rank)
    {
        this.group = group;
        Rank = rank;
    }

    /// <summary>
    /// Runs <paramref name="body"/> on <paramref name="size"/> threads, one per rank, and waits for all; the first
    /// exception a rank throws ends the others' collectives and is rethrown here.
    /// </summary>
    /// <param name="size">Number of ranks.</param>
    /// <param name="body">One rank's work, given its communicator.</param>
    /// <param name="timeout">How long a collective waits for the other ranks before it throws (default 1 minute).</param>
    public static void Run(int size, Action<ThreadCommunicator> body, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var group = new Group(size, timeout ?? TimeSpan.FromMinutes(1));
        var errors = new Exception?[size];
        var threads = new Thread[size];
        for (int r = 0; r < size; r++)
        {
            var comm = new ThreadCommunicator(group, r);
            threads[r] = new Thread(() =>
            {
                try
                {
                    body(comm);
                }
                catch (Exception e)
                {
                    errors[comm.Rank] = e;
                    group.Reason ??= $"rank {comm.Rank} failed: {e.Message}";
                    group.Aborted.Cancel();
                }
            }, maxStackSize: 16 << 20) { Name = $"rank {r}" };
            threads[r].Start();
        }
        foreach (var t in threads) t.Join();
        // The rank that failed first explains the others' "another rank failed".
        var first = errors.FirstOrDefault(e => e is not null && e is not RankFailedException) ?? errors.FirstOrDefault(e => e is not null);
        if (first is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
    }

    /// <inheritdoc/>
    public int Rank { get; }

    /// <inheritdoc/>
    public int Size => group.Slots.Length;

    /// <inheritdoc/>
    public void AllReduce(Span<float> data, ReduceOperation operation = ReduceOperation.Sum) => Reduce(data, operation, 0, data.Length);

    /// <inheritdoc/>
    public void ReduceScatter(Span<float> data, ReduceOperation operation = ReduceOperation.Sum)
    {
        if (operation is not (ReduceOperation.Sum or ReduceOperation.Mean))
            throw new ArgumentOutOfRangeException(nameof(operation), operation, "ReduceScatter sums or averages; use AllReduce for Max and Min.");
        var (start, end) = RankParts.Of(data.Length, Size, Rank);
        Reduce(data, operation, start, end);
    }

    // data[start, end) = the operation over the ranks' buffers, in rank order; the rest of data stays as it is.
    private void Reduce(Span<float> data, ReduceOperation operation, int start, int end)
    {
        group.Slots[Rank] = data.ToArray();
        Wait();
        for (int i = start; i < end; i++)
        {
            float acc = ((float[])group.Slots[0]!)[i];
            for (int r = 1; r < Size; r++)
            {
                float x = ((float[])group.Slots[r]!)[i];
                acc = operation switch { ReduceOperation.Sum or ReduceOperation.Mean => acc + x, ReduceOperation.Max => MathF.Max(acc, x), _ => MathF.Min(acc, x) };
            }
            data[i] = acc;
        }
        if (operation == ReduceOperation.Mean) RankMean.Divide(data[start..end], Size);
        Wait();   // nobody overwrites a slot before every rank has read them all
    }

    /// <inheritdoc/>
    public void AllGather(Span<float> data)
    {
        group.Slots[Rank] = data.ToArray();
        Wait();
        for (int r = 0; r < Size; r++)
        {
            var owner = (float[])group.Slots[r]!;
            CheckLength(owner.Length, data.Length);
            var (start, end) = RankParts.Of(data.Length, Size, r);
            if (r != Rank) owner.AsSpan(start, end - start).CopyTo(data[start..end]);
        }
        Wait();
    }

    /// <inheritdoc/>
    public void AllReduce(Span<double> data, ReduceOperation operation = ReduceOperation.Sum)
    {
        group.Slots[Rank] = data.ToArray();
        Wait();
        for (int i = 0; i < data.Length; i++)
        {
            double acc = ((double[])group.Slots[0]!)[i];
            for (int r = 1; r < Size; r++)
            {
                double x = ((double[])group.Slots[r]!)[i];
                acc = operation switch { ReduceOperation.Sum or ReduceOperation.Mean => acc + x, ReduceOperation.Max => Math.Max(acc, x), _ => Math.Min(acc, x) };
            }
            data[i] = acc;
        }
        if (operation == ReduceOperation.Mean) RankMean.Divide(data, Size);
        Wait();
    }

    /// <inheritdoc/>
    public void Broadcast(Span<float> data, int root = 0)
    {
        if (Rank == root) group.Slots[root] = data.ToArray();
        Wait();
        CheckLength(((float[])group.Slots[root]!).Length, data.Length);
        if (Rank != root) ((float[])group.Slots[root]!).CopyTo(data);
        Wait();
    }

    /// <inheritdoc/>
    public void Broadcast(Span<double> data, int root = 0)
    {
        if (Rank == root) group.Slots[root] = data.ToArray();
        Wait();
        CheckLength(((double[])group.Slots[root]!).Length, data.Length);
        if (Rank != root) ((double[])group.Slots[root]!).CopyTo(data);
        Wait();
    }

    /// <inheritdoc/>
    public void Barrier() => Wait();

    /// <summary>Ends the other ranks' collectives with an exception and throws one here (threads cannot end a process's peers).</summary>
    public void Abort(int exitCode)
    {
        group.Reason ??= $"rank {Rank} aborted with code {exitCode}";
        group.Aborted.Cancel();
        throw new RankFailedException(group.Reason);
    }

    /// <summary>Nothing to release.</summary>
    public void Dispose()
    {
    }

    private void CheckLength(int rootLength, int length)
    {
        if (rootLength != length)
            throw new InvalidOperationException($"rank {Rank} has a buffer of {length} values but another rank {rootLength}: the ranks disagree on the buffer.");
    }

    private void Wait()
    {
        bool arrived;
        try
        {
            arrived = group.Barrier.SignalAndWait(group.Timeout, group.Aborted.Token);
        }
        catch (OperationCanceledException)
        {
            throw new RankFailedException($"rank {Rank} stopped: {group.Reason}");
        }
        if (!arrived)
        {
            group.Reason ??= $"rank {Rank} waited {group.Timeout.TotalSeconds:0.###} s in a collective for the other ranks";
            group.Aborted.Cancel();
            throw new RankFailedException($"rank {Rank} stopped: {group.Reason}");
        }
    }
}

/// <summary>A rank stopped because another rank failed, aborted or stopped answering.</summary>
public sealed class RankFailedException(string message) : InvalidOperationException(message);
