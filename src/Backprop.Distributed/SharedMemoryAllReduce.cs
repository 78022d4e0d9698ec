using System.Numerics;
using System.Runtime.CompilerServices;

namespace Backprop.Distributed;

/// <summary>
/// The float sum or mean of <see cref="MpiCommunicator.AllReduce(Span{float}, ReduceOperation)"/> among ranks that
/// share a machine, through one MPI-3 shared-memory window (MPI_Win_allocate_shared) instead of messages; across
/// machines, one MPI_Allreduce per local rank on its own chunk. Every rank gets the same bits.
/// </summary>
/// <remarks>
/// A buffer goes through in pieces of at most <see cref="PieceFloats"/> values. For each piece, with n ranks on each
/// machine and local rank r owning chunk r (n chunks of whole 64-byte lines):
/// <list type="number">
/// <item>each rank copies every chunk but its own into its slot of the window;</item>
/// <item>barrier; rank r sums chunk r over the ranks, in local-rank order ((x₀ + x₁) + x₂ …), its own values from its
/// buffer and the others' from their slots, into its buffer and its slot: a reduce-scatter that reads each value once.
/// With several machines, chunk r is then allreduced by MPI among the ranks that are local rank r on each machine (n
/// small allreduces at once instead of one large one). The mean divides the finished sum by the rank count;</item>
/// <item>barrier; every rank copies each other chunk from its owner's slot: an allgather.</item>
/// </list>
/// Per rank that moves each value about four times ((n − 1)/n of the buffer in, its chunk summed from n places and
/// stored twice, (n − 1)/n out), where copying the whole buffer in and out would move it about five and a half times.
/// Open MPI's own allreduce on one machine sends the whole buffer through its shared-memory transport and reduces it
/// on every rank; here a rank reduces only its chunk, and the mean costs no extra pass. Each rank has two slots that
/// alternate between pieces, so a rank that runs on into the next piece never overwrites a slot another rank is still
/// reading, and two barriers per piece suffice. Every machine must hold the same number of ranks (what
/// <c>mpirun -np N</c> with N a multiple of the machine count gives); otherwise <see cref="Create"/> returns null and
/// MPI's allreduce is used.
/// </remarks>
internal sealed unsafe class SharedMemoryAllReduce : IDisposable
{
    /// <summary>Most values of a buffer reduced at once (1 MiB); each rank's window holds two such slots.</summary>
    public const int PieceFloats = 1 << 18;

    private const int LineFloats = 16;   // a chunk starts on a 64-byte line, so no two owners write one line

    private readonly MpiNative mpi;
    private nint node, across, window;
    private readonly float*[] slots;     // each local rank's two slots, PieceFloats apart
    private readonly float*[] sources;   // this piece's slot of each local rank (scratch of Sum)
    private int phase;
    private bool disposed;

    private SharedMemoryAllReduce(MpiNative mpi, nint node, nint across, int localRank, int localSize, int acrossSize)
    {
        this.mpi = mpi;
        (this.node, this.across) = (node, across);
        (LocalRank, LocalSize, AcrossSize) = (localRank, localSize, acrossSize);
        slots = new float*[localSize];
        sources = new float*[localSize];
        float* mine;
        nint win;
        MpiNative.Check(mpi.WinAllocateShared((nint)2 * PieceFloats * sizeof(float), sizeof(float), mpi.InfoNull, node, &mine, &win), "MPI_Win_allocate_shared");
        window = win;
        for (int q = 0; q < localSize; q++)
        {
            nint size;
            int unit;
            float* slot;
            MpiNative.Check(mpi.WinSharedQuery(window, q, &size, &unit, &slot), "MPI_Win_shared_query");
            slots[q] = slot;
        }
        // One passive epoch for the window's life: MPI_Win_sync then orders this rank's loads and stores around each barrier.
        MpiNative.Check(mpi.WinLockAll(MpiNative.ModeNoCheck, window), "MPI_Win_lock_all");
    }

    /// <summary>This rank's index among the ranks of its machine.</summary>
    public int LocalRank { get; }

    /// <summary>Ranks on each machine.</summary>
    public int LocalSize { get; }

    /// <summary>Machines (ranks with this local rank, one per machine).</summary>
    public int AcrossSize { get; }

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
    public static SharedMemoryAllReduce? Create(MpiNative mpi, int worldRank, int ranksPerMachine = 0)
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
        return new SharedMemoryAllReduce(mpi, node, across, localRank, localSize, acrossSize);
    }

    /// <summary>
    /// Replaces <paramref name="data"/> on every rank by the sum over all ranks (or, with <paramref name="mean"/>,
    /// the sum divided by <paramref name="worldSize"/>). Collective: every rank calls it with the same length.
    /// </summary>
    public void AllReduce(Span<float> data, bool mean, int worldSize)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        fixed (float* start = data)
        {
            for (int offset = 0; offset < data.Length; offset += PieceFloats)
            {
                int count = Math.Min(PieceFloats, data.Length - offset);
                float* piece = start + offset;
                int slotOffset = phase * PieceFloats;
                phase ^= 1;
                float* mine = slots[LocalRank] + slotOffset;
                // Every chunk but this rank's own goes into its slot, where the chunk's owner reads it.
                for (int q = 0; q < LocalSize; q++)
                    if (q != LocalRank) CopyChunk(q, count, piece, mine);
                Synchronize();

                var (lo, hi) = Chunk(LocalRank, count);
                if (hi > lo)
                {
                    // This rank's own values come from its buffer, the others' from their slots; the sum lands in the
                    // buffer and, for the others to copy, in this rank's slot.
                    for (int q = 0; q < LocalSize; q++) sources[q] = (q == LocalRank ? piece : slots[q] + slotOffset) + lo;
                    if (AcrossSize == 1) Sum(sources, piece + lo, mine + lo, hi - lo, mean ? worldSize : 1);
                    else
                    {
                        Sum(sources, piece + lo, null, hi - lo, 1);
                        MpiNative.Check(mpi.Allreduce(MpiNative.InPlace, piece + lo, hi - lo, mpi.Float, mpi.Sum, across), "MPI_Allreduce");
                        if (mean) RankMean.Divide(new Span<float>(piece + lo, hi - lo), worldSize);
                        CopyChunk(LocalRank, count, piece, mine);
                    }
                }
                Synchronize();

                for (int q = 0; q < LocalSize; q++)
                    if (q != LocalRank) CopyChunk(q, count, slots[q] + slotOffset, piece);
            }
        }
    }

    // Chunk q of a piece of `count` values, from one piece-sized buffer to another.
    private void CopyChunk(int q, int count, float* from, float* to)
    {
        var (lo, hi) = Chunk(q, count);
        long bytes = (long)(hi - lo) * sizeof(float);
        Buffer.MemoryCopy(from + lo, to + lo, bytes, bytes);
    }

    // Local rank q's chunk [lo, hi) of a piece of `count` values: equal runs of whole lines, the last one short.
    private (int Lo, int Hi) Chunk(int q, int count)
    {
        int per = (count + LocalSize * LineFloats - 1) / (LocalSize * LineFloats) * LineFloats;
        int lo = Math.Min(q * per, count);
        return (lo, Math.Min(lo + per, count));
    }

    // Every local rank's stores before this point are visible to every local rank's loads after it.
    private void Synchronize()
    {
        MpiNative.Check(mpi.WinSync(window), "MPI_Win_sync");
        MpiNative.Check(mpi.Barrier(node), "MPI_Barrier");
        MpiNative.Check(mpi.WinSync(window), "MPI_Win_sync");
    }

    // target[i] = (((s₀[i] + s₁[i]) + s₂[i]) …) / ranks for i < count (ranks 1: the sum), the division
    // RankMean.Divisor's; also stored to copy[i] when copy is not null. target may be one of the sources: each
    // position is read from every source before it is written.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Sum(float*[] sources, float* target, float* copy, int count, int ranks)
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
                if (copy != null) sum.Store(copy + i);
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
