using System.Diagnostics;
using Collective = Backprop.Distributed.SharedMemoryCollectives.Collective;

namespace Backprop.Distributed;

/// <summary>
/// The ranks of an Open MPI job (<c>mpirun -np N</c>), through MPI_COMM_WORLD. Create it once per process with
/// <see cref="Start"/>; disposing it calls MPI_Finalize. A collective that makes no progress for
/// <see cref="Timeout"/> (a rank died or hangs) ends the whole job through MPI_Abort with a message, rather than
/// waiting forever.
/// </summary>
/// <remarks>
/// When a rank's process dies, mpirun notices it and ends the other ranks itself (its default); the timeout covers
/// what it cannot see: a rank that hangs, or a network that stops delivering.
/// </remarks>
public sealed unsafe class MpiCommunicator : ICommunicator, IWaitCounting
{
    /// <summary>What to install when Open MPI is missing.</summary>
    public const string InstallHint = "install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev)";

    private readonly MpiNative mpi;
    private readonly Thread? watchdog;
    private long collectiveStarted;   // Stopwatch ticks when the running collective began; 0 when none runs
    private string collectiveName = "";
    private volatile bool disposed;

    private MpiCommunicator(MpiNative mpi, TimeSpan timeout)
    {
        this.mpi = mpi;
        Timeout = timeout;
        int rank, size;
        MpiNative.Check(mpi.CommRank(mpi.CommWorld, &rank), "MPI_Comm_rank");
        MpiNative.Check(mpi.CommSize(mpi.CommWorld, &size), "MPI_Comm_size");
        (Rank, Size) = (rank, size);
        if (timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            watchdog = new Thread(Watch) { IsBackground = true, Name = "MPI watchdog" };
            watchdog.Start();
        }
    }

    /// <summary>True when this process was started by Open MPI's <c>mpirun</c> (it sets OMPI_COMM_WORLD_SIZE).</summary>
    public static bool UnderMpirun => Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null;

    /// <summary>
    /// Initializes MPI (MPI_Init_thread) and returns this process's communicator over MPI_COMM_WORLD.
    /// </summary>
    /// <param name="timeout">How long one collective may wait before the job is aborted (default 2 minutes; infinite: never).</param>
    /// <exception cref="InvalidOperationException">
    /// The process was not started by mpirun, or Open MPI's library is not installed; the message says what to do.
    /// </exception>
    public static MpiCommunicator Start(TimeSpan? timeout = null)
    {
        if (!UnderMpirun)
            throw new InvalidOperationException("distributed training runs under Open MPI's launcher: start it as 'mpirun -np N backprop train --distributed ...'; without mpirun, " + InstallHint + ".");
        var mpi = MpiNative.TryLoad(out var reason)
            ?? throw new InvalidOperationException($"distributed training needs Open MPI, but {reason}: {InstallHint}.");
        int initialized;
        MpiNative.Check(mpi.Initialized(&initialized), "MPI_Initialized");
        if (initialized != 0) throw new InvalidOperationException("MPI is already initialized in this process: create one MpiCommunicator and share it.");
        int provided;
        MpiNative.Check(mpi.InitThread(null, null, MpiNative.ThreadMultiple, &provided), "MPI_Init_thread");
        return new MpiCommunicator(mpi, timeout ?? TimeSpan.FromMinutes(2));
    }

    /// <inheritdoc/>
    public int Rank { get; }

    /// <inheritdoc/>
    public int Size { get; }

    /// <summary>How long one collective may wait for the other ranks before the job is aborted.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Time spent inside collectives so far (for measuring the share of a step spent communicating).</summary>
    public TimeSpan CommunicationTime => TimeSpan.FromSeconds(communicationTicks / (double)Stopwatch.Frequency);

    private long communicationTicks;

    /// <inheritdoc/>
    /// <remarks>
    /// A sum or mean of at least <see cref="SharedMemoryMinimum"/> values among ranks that share a machine goes
    /// through memory they share (see <see cref="UsesSharedMemory"/>); anything else is one MPI_Allreduce.
    /// </remarks>
    public void AllReduce(Span<float> data, ReduceOperation operation = ReduceOperation.Sum)
    {
        nint op = Op(operation);
        if (operation is ReduceOperation.Sum or ReduceOperation.Mean && data.Length >= SharedMemoryMinimum && !SharedMemoryPaused && SharedMemory() is { } window)
        {
            InWindow(window, Collective.AllReduce, data, operation == ReduceOperation.Mean);
            return;
        }
        long start = Enter("MPI_Allreduce");
        fixed (float* p = data) Exit(start, "MPI_Allreduce", mpi.Allreduce(MpiNative.InPlace, p, data.Length, mpi.Float, op, mpi.CommWorld));
        if (operation == ReduceOperation.Mean) RankMean.Divide(data, Size);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// At least <see cref="SharedMemoryMinimum"/> values among ranks that all share one machine go through memory they
    /// share; anything else is one MPI_Reduce_scatter (into a scratch buffer, then copied to this rank's part).
    /// </remarks>
    public void ReduceScatter(Span<float> data, ReduceOperation operation = ReduceOperation.Sum)
    {
        if (operation is not (ReduceOperation.Sum or ReduceOperation.Mean))
            throw new ArgumentOutOfRangeException(nameof(operation), operation, "ReduceScatter sums or averages; use AllReduce for Max and Min.");
        if (SharedMemoryOnOneMachine(data.Length) is { } window)
        {
            InWindow(window, Collective.ReduceScatter, data, operation == ReduceOperation.Mean);
            return;
        }
        var counts = PartCounts(data.Length, out _);
        var (start, end) = RankParts.Of(data.Length, Size, Rank);
        if (scratch.Length < end - start) scratch = new float[end - start];
        long started = Enter("MPI_Reduce_scatter");
        fixed (float* p = data)
        fixed (float* mine = scratch)
        fixed (int* c = counts)
            Exit(started, "MPI_Reduce_scatter", mpi.ReduceScatter(p, mine, c, mpi.Float, mpi.Sum, mpi.CommWorld));
        scratch.AsSpan(0, end - start).CopyTo(data[start..end]);
        if (operation == ReduceOperation.Mean) RankMean.Divide(data[start..end], Size);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// At least <see cref="SharedMemoryMinimum"/> values among ranks that all share one machine go through memory they
    /// share; anything else is one MPI_Allgatherv in place.
    /// </remarks>
    public void AllGather(Span<float> data)
    {
        if (SharedMemoryOnOneMachine(data.Length) is { } window)
        {
            InWindow(window, Collective.AllGather, data, mean: false);
            return;
        }
        var counts = PartCounts(data.Length, out var offsets);
        long started = Enter("MPI_Allgatherv");
        fixed (float* p = data)
        fixed (int* c = counts)
        fixed (int* o = offsets)
            Exit(started, "MPI_Allgatherv", mpi.Allgatherv(MpiNative.InPlace, 0, mpi.Float, p, c, o, mpi.Float, mpi.CommWorld));
    }

    // One collective through the shared window, watched as any collective is (a rank that waits there too long for
    // the others ends the job through the watchdog).
    private void InWindow(SharedMemoryCollectives window, Collective call, Span<float> data, bool mean)
    {
        string name = call switch
        {
            Collective.AllReduce => "the shared-memory allreduce",
            Collective.ReduceScatter => "the shared-memory reduce-scatter",
            _ => "the shared-memory allgather",
        };
        long begun = Enter(name);
        try
        {
            switch (call)
            {
                case Collective.AllReduce: window.AllReduce(data, mean, Size); break;
                case Collective.ReduceScatter: window.ReduceScatter(data, mean); break;
                default: window.AllGather(data); break;
            }
        }
        finally
        {
            Exit(begun, name, 0);
        }
    }

    private float[] scratch = [];
    private readonly Dictionary<int, (int[] Counts, int[] Offsets)> parts = [];

    // Every rank's part size and start in a buffer of `length` values (RankParts), kept for later calls of that
    // length (a step's buckets have a few lengths, the same every step).
    private int[] PartCounts(int length, out int[] offsets)
    {
        if (!parts.TryGetValue(length, out var known))
        {
            known = (new int[Size], new int[Size]);
            for (int r = 0; r < Size; r++)
            {
                var (start, end) = RankParts.Of(length, Size, r);
                (known.Offsets[r], known.Counts[r]) = (start, end - start);
            }
            parts[length] = known;
        }
        offsets = known.Offsets;
        return known.Counts;
    }

    // The shared window, when a reduce-scatter or allgather of `length` floats goes through it: every rank on one machine.
    private SharedMemoryCollectives? SharedMemoryOnOneMachine(int length) =>
        length >= SharedMemoryMinimum && !SharedMemoryPaused && SharedMemory() is { AcrossSize: 1 } window ? window : null;

    /// <inheritdoc/>
    public void AllReduce(Span<double> data, ReduceOperation operation = ReduceOperation.Sum)
    {
        nint op = Op(operation);
        long start = Enter("MPI_Allreduce");
        fixed (double* p = data) Exit(start, "MPI_Allreduce", mpi.Allreduce(MpiNative.InPlace, p, data.Length, mpi.Double, op, mpi.CommWorld));
        if (operation == ReduceOperation.Mean) RankMean.Divide(data, Size);
    }

    /// <summary>
    /// Float sums and means of at least this many values (32 KiB) go through shared memory when ranks share a machine;
    /// below it one MPI_Allreduce's latency is about what the two barriers of the shared path cost.
    /// </summary>
    public const int SharedMemoryMinimum = 8192;

    /// <summary>
    /// Whether large float sums go through an MPI-3 shared-memory window among the ranks of each machine (and one
    /// MPI_Allreduce per local rank across machines) rather than through MPI_Allreduce: true when every machine holds
    /// the same number of ranks, two or more, unless BACKPROP_MPI_SHARED_MEMORY=0. Known after the first such sum
    /// (it is set up then, collectively); false before.
    /// </summary>
    public bool UsesSharedMemory => shared is not null;

    /// <summary>Ranks on each machine that share the window (0 when <see cref="UsesSharedMemory"/> is false).</summary>
    public int SharedMemoryRanks => shared?.LocalSize ?? 0;

    /// <summary>Machines whose windows are joined by MPI_Allreduce (0 when <see cref="UsesSharedMemory"/> is false).</summary>
    public int SharedMemoryMachines => shared?.AcrossSize ?? 0;

    private SharedMemoryCollectives? shared;
    private bool sharedDecided;

    /// <summary>
    /// While true, every allreduce goes through MPI_Allreduce (for <c>backprop bench --allreduce</c>, which times both
    /// paths in turn). Every rank must set it alike, at the same point between collectives.
    /// </summary>
    internal bool SharedMemoryPaused { get; set; }

    /// <summary>
    /// When set (alike on every rank, between collectives), the shared window writes every call this way rather than
    /// as its timing chooses (see <see cref="SlotWrites"/>); for <c>backprop bench --allreduce</c> and the self-test.
    /// </summary>
    internal SlotWrites? ForcedSlotWrites
    {
        get => shared?.ForcedWrites;
        set
        {
            if (shared is not null) shared.ForcedWrites = value;
        }
    }

    /// <summary>Whether the shared window can write with non-temporal stores here (x86; false without a window).</summary>
    internal bool NonTemporalSlotWrites => shared?.NonTemporalWorks ?? false;

    /// <summary>
    /// Of <see cref="CommunicationTime"/>, the time spent so far at the shared window's barriers waiting for the other
    /// ranks of this machine to arrive: the time they took longer than this rank for the work before the collective
    /// (their imbalance, or stalls of their cores), rather than the time moving values took. Zero without a window;
    /// MPI's own collectives do not tell their waiting apart.
    /// </summary>
    public TimeSpan SharedMemoryWaitTime => TimeSpan.FromSeconds(((IWaitCounting)this).WaitedTicks / (double)Stopwatch.Frequency);

    long IWaitCounting.WaitedTicks => shared?.WaitedTicks ?? 0;

    /// <summary>The shared window's calls so far, and of those the calls that wrote with non-temporal stores.</summary>
    public (long Calls, long NonTemporal) SharedMemoryWrites => shared?.WriteCounts ?? (0, 0);

    /// <summary>Sets up the shared window now, as the first large sum would (collective); returns whether there is one.</summary>
    internal bool PrepareSharedMemory() => SharedMemory() is not null;

    // BACKPROP_MPI_RANKS_PER_MACHINE=k makes each k consecutive ranks one machine: the path across machines (an
    // MPI_Allreduce per local rank) runs on one, for `selftest --distributed` and the tests.
    private static int RanksPerMachineForTesting() =>
        int.TryParse(Environment.GetEnvironmentVariable("BACKPROP_MPI_RANKS_PER_MACHINE"), out int k) && k > 0 ? k : 0;

    // The shared window, set up by the first large sum (every rank makes that call at the same point, as it must for
    // any collective), or null when this job cannot use one or BACKPROP_MPI_SHARED_MEMORY=0 turns it off.
    private SharedMemoryCollectives? SharedMemory()
    {
        if (sharedDecided) return shared;
        sharedDecided = true;
        if (Environment.GetEnvironmentVariable("BACKPROP_MPI_SHARED_MEMORY") == "0") return null;
        long start = Enter("setting up the shared-memory window");
        try
        {
            return shared = SharedMemoryCollectives.Create(mpi, Rank, RanksPerMachineForTesting());
        }
        finally
        {
            Exit(start, "setting up the shared-memory window", 0);
        }
    }

    /// <inheritdoc/>
    public void Broadcast(Span<float> data, int root = 0)
    {
        long start = Enter("MPI_Bcast");
        fixed (float* p = data) Exit(start, "MPI_Bcast", mpi.Bcast(p, data.Length, mpi.Float, root, mpi.CommWorld));
    }

    /// <inheritdoc/>
    public void Broadcast(Span<double> data, int root = 0)
    {
        long start = Enter("MPI_Bcast");
        fixed (double* p = data) Exit(start, "MPI_Bcast", mpi.Bcast(p, data.Length, mpi.Double, root, mpi.CommWorld));
    }

    /// <inheritdoc/>
    public void Barrier()
    {
        long start = Enter("MPI_Barrier");
        Exit(start, "MPI_Barrier", mpi.Barrier(mpi.CommWorld));
    }

    /// <inheritdoc/>
    public void Abort(int exitCode)
    {
        Console.Error.Flush();
        mpi.Abort(mpi.CommWorld, exitCode);
    }

    /// <summary>MPI_Finalize (once every rank has finished its collectives).</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        int finalized;
        mpi.Finalized(&finalized);
        if (finalized != 0) return;
        shared?.Dispose();
        mpi.Finalize();
    }

    // Marks a collective as running for the watchdog; Exit (whose last argument is the call itself) clears the mark.
    private long Enter(string name)
    {
        collectiveName = name;
        long start = Stopwatch.GetTimestamp();
        Volatile.Write(ref collectiveStarted, start);
        return start;
    }

    private void Exit(long start, string name, int result)
    {
        Volatile.Write(ref collectiveStarted, 0);
        communicationTicks += Stopwatch.GetTimestamp() - start;
        MpiNative.Check(result, name);
    }

    private nint Op(ReduceOperation operation) => operation switch
    {
        ReduceOperation.Sum or ReduceOperation.Mean => mpi.Sum,   // a mean divides the sum afterwards
        ReduceOperation.Max => mpi.Max,
        ReduceOperation.Min => mpi.Min,
        _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, "ReduceOperation must be Sum, Max, Min or Mean."),
    };

    private void Watch()
    {
        while (!disposed)
        {
            Thread.Sleep(100);
            long started = Volatile.Read(ref collectiveStarted);
            if (started == 0 || Stopwatch.GetElapsedTime(started) < Timeout) continue;
            Console.Error.WriteLine($"backprop: rank {Rank} of {Size} waited {Timeout.TotalSeconds:0} s in {collectiveName} for the other ranks: one of them has died or hangs; aborting the job.");
            Abort(3);
        }
    }
}
