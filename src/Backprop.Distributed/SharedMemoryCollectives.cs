using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Distributed;

/// <summary>
/// The float sum or mean of <see cref="MpiCommunicator.AllReduce(Span{float}, ReduceOperation)"/>, and its halves
/// <see cref="MpiCommunicator.ReduceScatter"/> and <see cref="MpiCommunicator.AllGather"/>, among ranks that share a
/// machine, through one MPI-3 shared-memory window (MPI_Win_allocate_shared) instead of messages; across machines,
/// the allreduce adds one MPI_Allreduce per local rank on its own part. Every rank gets the same bits.
/// </summary>
/// <remarks>
/// With n ranks on each machine, local rank r owns part r of a buffer (<see cref="RankParts"/> among n). A buffer
/// goes through in rounds: in round k each owner's k-th run of at most <see cref="RoundFloats"/> values of its part,
/// which sits at r · RoundFloats in the slots, so a round fits one slot of <see cref="PieceFloats"/>.
/// <list type="number">
/// <item>reduce: each rank copies the runs of the other owners into its slot; barrier; rank r sums its run over the
/// ranks, in local-rank order ((x₀ + x₁) + x₂ …), its own values from its buffer and the others' from their slots,
/// into its buffer (and, when a gather follows, its slot): a reduce-scatter that reads each value once. With several
/// machines the run is then allreduced by MPI among the ranks that are local rank r on each machine (n small
/// allreduces at once instead of one large one). The mean divides the finished sum by the rank count;</item>
/// <item>gather: (the owner's run in its slot); barrier; every rank copies each other run from its owner's slot.</item>
/// </list>
/// An allreduce is both in each round: per rank that moves each value about four times ((n − 1)/n of the buffer in,
/// its part summed from n places and stored twice, (n − 1)/n out), where copying the whole buffer in and out would
/// move it about five and a half times. Open MPI's own allreduce on one machine sends the whole buffer through its
/// shared-memory transport and reduces it on every rank; here a rank reduces only its part, and the mean costs no
/// extra pass. Each rank has two slots that alternate between rounds: every read of a slot falls between the barrier
/// that follows its writing and the next barrier, so a rank that runs on into the next round (or the next call)
/// never overwrites a slot another rank is still reading. Every machine must hold the same number of ranks (what
/// <c>mpirun -np N</c> with N a multiple of the machine count gives); otherwise <see cref="Create"/> returns null and
/// MPI's collectives are used. The reduce-scatter and allgather alone run here on one machine only
/// (<see cref="AcrossSize"/> 1), where the local parts are the ranks' parts.
/// <para>The values a rank writes into its slot for the others go there by ordinary or by non-temporal stores
/// (<see cref="SlotWrites"/>): the same bits, but which is faster depends on whether the ranks' cores share a cache,
/// which a virtual machine's host may change while the job runs. Local rank 0 times both for each of the three
/// collectives (<see cref="SlotWriteChooser"/>; a reduce-scatter and an allgather cost differently per value) and
/// publishes its three choices in a line of its window beside the slots; every rank reads them after the first
/// barrier of a call and uses them from the next call on, so the ranks change kind together.</para>
/// </remarks>
internal sealed unsafe class SharedMemoryCollectives : IDisposable
{
    /// <summary>Values of one round (1 MiB): each rank's window holds two such slots.</summary>
    public const int PieceFloats = 1 << 18;

    private readonly MpiNative mpi;
    private nint node, across, window;
    private readonly float*[] slots;     // each local rank's two slots, PieceFloats apart
    private readonly float*[] sources;   // this round's slot of each local rank (scratch of Sum)
    private int phase;
    private bool disposed;
    private readonly SlotWriteChooser[]? choosers;   // local rank 0's, one per Collective, when non-temporal stores work
    private readonly SlotWrites[] agreed = new SlotWrites[3];   // each collective's kind, as rank 0 last published it

    /// <summary>The three collectives the window runs (also the indices of their choosers and published kinds).</summary>
    public enum Collective { AllReduce, ReduceScatter, AllGather }

    private SharedMemoryCollectives(MpiNative mpi, nint node, nint across, int localRank, int localSize, int acrossSize)
    {
        this.mpi = mpi;
        (this.node, this.across) = (node, across);
        (LocalRank, LocalSize, AcrossSize) = (localRank, localSize, acrossSize);
        RoundFloats = PieceFloats / localSize / RankParts.LineFloats * RankParts.LineFloats;
        slots = new float*[localSize];
        sources = new float*[localSize];
        float* mine;
        nint win;
        // Two slots, then two lines (one per slot phase) where local rank 0 publishes the kind of writes to use; and a
        // line to spare, as Open MPI need not start a rank's memory on a line.
        MpiNative.Check(mpi.WinAllocateShared((nint)(2 * PieceFloats + 3 * RankParts.LineFloats) * sizeof(float), sizeof(float), mpi.InfoNull, node, &mine, &win), "MPI_Win_allocate_shared");
        window = win;
        for (int q = 0; q < localSize; q++)
        {
            nint size;
            int unit;
            float* slot;
            MpiNative.Check(mpi.WinSharedQuery(window, q, &size, &unit, &slot), "MPI_Win_shared_query");
            slots[q] = (float*)(((nint)slot + 63) & ~(nint)63);   // every process maps the window at a page, so all agree
        }
        bool aligned = true;
        for (int q = 0; q < localSize; q++) aligned &= (nint)slots[q] % Vector<byte>.Count == 0;
        NonTemporalWorks = Sse.IsSupported && Vector.IsHardwareAccelerated && aligned;
        if (NonTemporalWorks && localRank == 0) choosers = [new(), new(), new()];
        // One passive epoch for the window's life: MPI_Win_sync then orders this rank's loads and stores around each barrier.
        MpiNative.Check(mpi.WinLockAll(MpiNative.ModeNoCheck, window), "MPI_Win_lock_all");
    }

    /// <summary>This rank's index among the ranks of its machine.</summary>
    public int LocalRank { get; }

    /// <summary>Ranks on each machine.</summary>
    public int LocalSize { get; }

    /// <summary>Machines (ranks with this local rank, one per machine).</summary>
    public int AcrossSize { get; }

    /// <summary>Most values of one owner's part that one round moves (whole lines; LocalSize of them fill a slot).</summary>
    public int RoundFloats { get; }

    /// <summary>
    /// When set (alike on every rank, between collectives), every call writes this way instead of the timed choice
    /// (for <c>backprop bench --allreduce</c> and the self-test). Non-temporal falls back to cached stores where they
    /// cannot be used.
    /// </summary>
    public SlotWrites? ForcedWrites { get; set; }

    /// <summary>Whether non-temporal writes can be used here: on x86, with every slot aligned for a vector store.</summary>
    public bool NonTemporalWorks { get; }

    /// <summary>Calls made so far, and of those, the calls that wrote with non-temporal stores.</summary>
    public (long Calls, long NonTemporal) WriteCounts => (calls, nonTemporalCalls);

    private long calls, nonTemporalCalls;

    /// <summary>
    /// Stopwatch ticks this rank has spent so far at the first barrier of each round, waiting for the other local ranks
    /// to arrive (to finish what they did before the call): the ranks' imbalance, not a cost of moving the values.
    /// </summary>
    public long WaitedTicks { get; private set; }

    /// <summary>
    /// Collective over MPI_COMM_WORLD: the shared window of this machine's ranks, or null when no machine holds two
    /// or more ranks, or the machines hold different numbers of ranks.
    /// </summary>
    /// <param name="mpi">The bound API.</param>
    /// <param name="worldRank">This rank in MPI_COMM_WORLD.</param>
    /// <param name="ranksPerMachine">
    /// 0: the machines are what MPI_COMM_TYPE_SHARED finds; k &gt; 0: each k consecutive ranks count as one machine
    /// (for testing the path across machines on one).
    /// </param>
    public static SharedMemoryCollectives? Create(MpiNative mpi, int worldRank, int ranksPerMachine = 0)
    {
        nint node;
        if (ranksPerMachine > 0) MpiNative.Check(mpi.CommSplit(mpi.CommWorld, worldRank / ranksPerMachine, worldRank, &node), "MPI_Comm_split");
        else MpiNative.Check(mpi.CommSplitType(mpi.CommWorld, MpiNative.CommTypeShared, worldRank, mpi.InfoNull, &node), "MPI_Comm_split_type");
        int localRank, localSize;
        MpiNative.Check(mpi.CommRank(node, &localRank), "MPI_Comm_rank");
        MpiNative.Check(mpi.CommSize(node, &localSize), "MPI_Comm_size");
        double* range = stackalloc double[] { localSize, -localSize };   // largest and (negated) smallest machine
        MpiNative.Check(mpi.Allreduce(MpiNative.InPlace, range, 2, mpi.Double, mpi.Max, mpi.CommWorld), "MPI_Allreduce");
        if (range[0] != -range[1] || localSize < 2)
        {
            MpiNative.Check(mpi.CommFree(&node), "MPI_Comm_free");
            return null;
        }
        nint across;
        MpiNative.Check(mpi.CommSplit(mpi.CommWorld, localRank, worldRank, &across), "MPI_Comm_split");
        int acrossSize;
        MpiNative.Check(mpi.CommSize(across, &acrossSize), "MPI_Comm_size");
        return new SharedMemoryCollectives(mpi, node, across, localRank, localSize, acrossSize);
    }

    /// <summary>
    /// Replaces <paramref name="data"/> on every rank by the sum over all ranks (or, with <paramref name="mean"/>,
    /// the sum divided by <paramref name="worldSize"/>). Collective: every rank calls it with the same length.
    /// </summary>
    public void AllReduce(Span<float> data, bool mean, int worldSize) => Run(Collective.AllReduce, data, mean, worldSize);

    /// <summary>
    /// Leaves this rank's part of <paramref name="data"/> holding the sum (or mean) over the ranks; one machine only.
    /// </summary>
    public void ReduceScatter(Span<float> data, bool mean)
    {
        if (AcrossSize != 1) throw new InvalidOperationException("the shared-memory reduce-scatter runs among the ranks of one machine.");
        Run(Collective.ReduceScatter, data, mean, LocalSize);
    }

    /// <summary>Copies each rank's part of <paramref name="data"/> into every other rank's; one machine only.</summary>
    public void AllGather(Span<float> data)
    {
        if (AcrossSize != 1) throw new InvalidOperationException("the shared-memory allgather runs among the ranks of one machine.");
        Run(Collective.AllGather, data, mean: false, LocalSize);
    }

    private void Run(Collective operation, Span<float> data, bool mean, int worldSize)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        bool reduce = operation != Collective.AllGather, gather = operation != Collective.ReduceScatter;
        int count = data.Length;
        var (first, firstEnd) = RankParts.Of(count, LocalSize, 0);   // the largest part sets the rounds
        int rounds = (firstEnd - first + RoundFloats - 1) / RoundFloats;
        var writes = NonTemporalWorks ? ForcedWrites ?? agreed[(int)operation] : SlotWrites.Cached;
        long started = Stopwatch.GetTimestamp(), waited = 0;
        fixed (float* buffer = data)
        {
            for (int k = 0; k < rounds; k++)
            {
                int slotOffset = phase * PieceFloats;
                int* published = (int*)(slots[0] + 2 * PieceFloats + phase * RankParts.LineFloats);
                phase ^= 1;
                // The first barrier of each round waits for the other ranks to arrive: not a cost of the writes.
                void FirstBarrier()
                {
                    if (k == 0 && choosers is not null)
                        for (int o = 0; o < 3; o++) published[o] = (int)choosers[o].Next;
                    long arrived = Stopwatch.GetTimestamp();
                    Synchronize(writes);
                    waited += Stopwatch.GetTimestamp() - arrived;
                    if (k == 0)
                        for (int o = 0; o < 3; o++) agreed[o] = (SlotWrites)(published[o] & 1);
                }
                float* mine = slots[LocalRank] + slotOffset;
                var (lo, hi) = Run(LocalRank, k, count);
                float* myRun = mine + LocalRank * RoundFloats;
                if (reduce)
                {
                    // Every other owner's run goes into this rank's slot, where that owner reads it.
                    for (int q = 0; q < LocalSize; q++)
                        if (q != LocalRank) CopyRun(q, k, count, buffer, mine, toSlot: true, writes);
                    FirstBarrier();
                    if (hi > lo)
                    {
                        // This rank's own values come from its buffer, the others' from their slots; the sum lands in
                        // the buffer and, for the others to copy, in this rank's slot.
                        for (int q = 0; q < LocalSize; q++) sources[q] = q == LocalRank ? buffer + lo : slots[q] + slotOffset + LocalRank * RoundFloats;
                        if (AcrossSize == 1) Sum(sources, buffer + lo, gather ? myRun : null, hi - lo, mean ? worldSize : 1, writes);
                        else
                        {
                            Sum(sources, buffer + lo, null, hi - lo, 1, writes);
                            MpiNative.Check(mpi.Allreduce(MpiNative.InPlace, buffer + lo, hi - lo, mpi.Float, mpi.Sum, across), "MPI_Allreduce");
                            if (mean) RankMean.Divide(new Span<float>(buffer + lo, hi - lo), worldSize);
                            if (gather) Write(buffer + lo, myRun, hi - lo, writes);
                        }
                    }
                }
                else if (hi > lo)
                {
                    Write(buffer + lo, myRun, hi - lo, writes);
                }
                if (!gather) continue;
                if (reduce) Synchronize(writes);
                else FirstBarrier();
                for (int q = 0; q < LocalSize; q++)
                    if (q != LocalRank) CopyRun(q, k, count, buffer, slots[q] + slotOffset, toSlot: false, writes);
            }
        }
        choosers?[(int)operation].Record(writes, count, Stopwatch.GetTimestamp() - started - waited);
        WaitedTicks += waited;
        calls++;
        if (writes == SlotWrites.NonTemporal) nonTemporalCalls++;
    }

    // Owner q's k-th run [lo, hi) of a buffer of `count` values: at most RoundFloats values of its part.
    private (int Lo, int Hi) Run(int q, int k, int count)
    {
        var (start, end) = RankParts.Of(count, LocalSize, q);
        int lo = (int)Math.Min(start + (long)k * RoundFloats, end);
        return (lo, Math.Min(lo + RoundFloats, end));
    }

    // Owner q's k-th run between the buffer and a slot (where it sits at q · RoundFloats), in the direction asked;
    // into a slot as `writes` says.
    private void CopyRun(int q, int k, int count, float* buffer, float* slot, bool toSlot, SlotWrites writes)
    {
        var (lo, hi) = Run(q, k, count);
        long bytes = (long)(hi - lo) * sizeof(float);
        float* inSlot = slot + q * RoundFloats;
        if (toSlot) Write(buffer + lo, inSlot, hi - lo, writes);
        else Buffer.MemoryCopy(inSlot, buffer + lo, bytes, bytes);
    }

    // count values from `from` to `to` (a run in a slot: aligned for a vector when non-temporal stores are used).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Write(float* from, float* to, int count, SlotWrites writes)
    {
        if (writes == SlotWrites.Cached)
        {
            Buffer.MemoryCopy(from, to, (long)count * sizeof(float), (long)count * sizeof(float));
            return;
        }
        int i = 0;
        for (; i <= count - Vector<float>.Count; i += Vector<float>.Count) Vector.StoreAlignedNonTemporal(Vector.Load(from + i), to + i);
        for (; i < count; i++) to[i] = from[i];
    }

    // Every local rank's stores before this point are visible to every local rank's loads after it (non-temporal ones
    // too: they are fenced first, as they are not ordered with the stores around them).
    private void Synchronize(SlotWrites writes)
    {
        if (writes == SlotWrites.NonTemporal) Sse.StoreFence();
        MpiNative.Check(mpi.WinSync(window), "MPI_Win_sync");
        MpiNative.Check(mpi.Barrier(node), "MPI_Barrier");
        MpiNative.Check(mpi.WinSync(window), "MPI_Win_sync");
    }

    // target[i] = (((s₀[i] + s₁[i]) + s₂[i]) …) / ranks for i < count (ranks 1: the sum), the division
    // RankMean.Divisor's; also stored to copy[i] (a run in a slot) when copy is not null, as `writes` says. target
    // may be one of the sources: each position is read from every source before it is written.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Sum(float*[] sources, float* target, float* copy, int count, int ranks, SlotWrites writes)
    {
        int n = sources.Length;
        var divisor = new RankMean.Divisor(ranks);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= count - Vector<float>.Count; i += Vector<float>.Count)
            {
                var sum = Vector.Load(sources[0] + i);
                for (int q = 1; q < n; q++) sum += Vector.Load(sources[q] + i);
                if (ranks > 1) sum = divisor.Apply(sum);
                sum.Store(target + i);
                if (copy == null) continue;
                if (writes == SlotWrites.NonTemporal) Vector.StoreAlignedNonTemporal(sum, copy + i);
                else sum.Store(copy + i);
            }
        }
        for (; i < count; i++)
        {
            float sum = sources[0][i];
            for (int q = 1; q < n; q++) sum += sources[q][i];
            if (ranks > 1) sum = divisor.Apply(sum);
            target[i] = sum;
            if (copy != null) copy[i] = sum;
        }
    }

    /// <summary>Frees the window and the communicators (collective: every rank disposes, before MPI_Finalize).</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        nint win = window, n = node, a = across;
        mpi.WinUnlockAll(win);
        mpi.WinFree(&win);
        mpi.CommFree(&a);
        mpi.CommFree(&n);
        (window, node, across) = (0, 0, 0);
    }
}
