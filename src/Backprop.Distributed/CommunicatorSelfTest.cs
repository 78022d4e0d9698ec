using System.Numerics;

namespace Backprop.Distributed;

/// <summary>
/// Checks a communicator's collectives against values every rank can compute alone (<c>mpirun -np N backprop
/// selftest --distributed</c>): sums, means, largest and smallest of floats and doubles at lengths that reach every
/// edge of the shared-memory path (a 64-byte line, a rank's part, a round, the size below which MPI is used), the
/// reduce-scatter and allgather halves of a sum and a mean, broadcasts from the first and the last rank, that every
/// rank gets the same bits, and (through Open MPI's shared window on x86) that the window's non-temporal writes give
/// the bits of its ordinary ones. Collective: every rank runs it, and every rank returns the same results.
/// </summary>
public static class CommunicatorSelfTest
{
    /// <summary>One check: what was checked, whether it held on every rank, and the first difference found.</summary>
    public sealed record Result(string Check, bool Passed, string? Difference);

    // Lengths around each edge: lines of 16 floats, parts, MpiCommunicator.SharedMemoryMinimum, rounds (PieceFloats).
    private static readonly int[] Lengths =
    [
        1, 15, 16, 17, 100, 8191, 8192, 8193, 3 * 16 * 347 + 5,
        SharedMemoryCollectives.PieceFloats - 1, SharedMemoryCollectives.PieceFloats, SharedMemoryCollectives.PieceFloats + 17,
        2 * SharedMemoryCollectives.PieceFloats + 3,
    ];

    /// <summary>Runs every check on <paramref name="communicator"/>'s ranks.</summary>
    public static IReadOnlyList<Result> Run(ICommunicator communicator)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        var results = new List<Result>();
        int n = communicator.Size;
        foreach (var operation in new[] { ReduceOperation.Sum, ReduceOperation.Mean, ReduceOperation.Max, ReduceOperation.Min })
        {
            string? difference = null;
            foreach (int length in Lengths)
            {
                var data = new float[length];
                for (int i = 0; i < length; i++) data[i] = Exact(communicator.Rank, i);
                communicator.AllReduce(data, operation);
                for (int i = 0; i < length && difference is null; i++)
                {
                    float expected = Expected<float>(operation, n, i);
                    if (BitConverter.SingleToInt32Bits(data[i]) != BitConverter.SingleToInt32Bits(expected))
                        difference = $"{length} values: [{i}] is {data[i]:R}, expected {expected:R}";
                }
            }
            results.Add(Agreed(communicator, $"allreduce {Name(operation)} of floats, {Lengths.Length} lengths from 1 to {Lengths[^1]:N0}", difference));
        }

        // The halves of an allreduce: each rank's part after a reduce-scatter, and every part after an allgather from
        // buffers that hold NaN outside their own part.
        foreach (var operation in new[] { ReduceOperation.Sum, ReduceOperation.Mean })
        {
            string? difference = null;
            foreach (int length in Lengths)
            {
                var data = new float[length];
                for (int i = 0; i < length; i++) data[i] = Exact(communicator.Rank, i);
                communicator.ReduceScatter(data, operation);
                var (start, end) = RankParts.Of(length, n, communicator.Rank);
                for (int i = start; i < end && difference is null; i++)
                {
                    float expected = Expected<float>(operation, n, i);
                    if (BitConverter.SingleToInt32Bits(data[i]) != BitConverter.SingleToInt32Bits(expected))
                        difference = $"{length} values: [{i}] of this rank's part [{start}, {end}) is {data[i]:R}, expected {expected:R}";
                }
            }
            results.Add(Agreed(communicator, $"reduce-scatter {Name(operation)} of floats, {Lengths.Length} lengths", difference));
        }
        {
            string? difference = null;
            foreach (int length in Lengths)
            {
                var data = OwnPartOnly(communicator, length, Exact);
                communicator.AllGather(data);
                for (int r = 0; r < n && difference is null; r++)
                {
                    var (lo, hi) = RankParts.Of(length, n, r);
                    for (int i = lo; i < hi && difference is null; i++)
                        if (BitConverter.SingleToInt32Bits(data[i]) != BitConverter.SingleToInt32Bits(Exact(r, i)))
                            difference = $"{length} values: [{i}] of rank {r}'s part is {data[i]:R}, rank {r}'s value {Exact(r, i):R}";
                }
            }
            results.Add(Agreed(communicator, $"allgather of floats, {Lengths.Length} lengths", difference));
        }

        // Values whose sums round: the order of the additions may vary with the path, but every rank must get the same
        // bits, within float rounding of the exact sum.
        {
            string? difference = null;
            foreach (int length in Lengths)
            {
                var data = new float[length];
                for (int i = 0; i < length; i++) data[i] = Rounding(communicator.Rank, i);
                communicator.AllReduce(data, ReduceOperation.Sum);
                for (int i = 0; i < length && difference is null; i++)
                {
                    double exact = 0;
                    for (int r = 0; r < n; r++) exact += Rounding(r, i);
                    if (Math.Abs(data[i] - exact) > 1e-6 * n * Math.Max(1, Math.Abs(exact)))
                        difference = $"{length} values: [{i}] is {data[i]:R}, the exact sum {exact:R}";
                }
                string? differs = SameOnEveryRank(communicator, data, length);   // a collective: every rank makes it
                difference ??= differs;
            }
            results.Add(Agreed(communicator, "allreduce sum of floats that round: the same bits on every rank", difference));
        }

        if (communicator is MpiCommunicator mpi && mpi.PrepareSharedMemory() && mpi.NonTemporalSlotWrites)
            results.Add(Agreed(communicator, "the shared window's non-temporal writes give the bits of its ordinary ones", NonTemporalDifference(mpi)));

        foreach (var operation in new[] { ReduceOperation.Sum, ReduceOperation.Mean, ReduceOperation.Max, ReduceOperation.Min })
        {
            string? difference = null;
            var data = new double[1000];
            for (int i = 0; i < data.Length; i++) data[i] = Exact(communicator.Rank, i);
            communicator.AllReduce(data, operation);
            for (int i = 0; i < data.Length && difference is null; i++)
            {
                double expected = Expected<double>(operation, n, i);
                if (BitConverter.DoubleToInt64Bits(data[i]) != BitConverter.DoubleToInt64Bits(expected))
                    difference = $"[{i}] is {data[i]:R}, expected {expected:R}";
            }
            results.Add(Agreed(communicator, $"allreduce {Name(operation)} of doubles", difference));
        }

        foreach (int root in n == 1 ? [0] : new[] { 0, n - 1 })
        {
            string? difference = null;
            foreach (int length in new[] { 1, 8193, SharedMemoryCollectives.PieceFloats + 17 })
            {
                var floats = new float[length];
                var doubles = new double[Math.Min(length, 1000)];
                for (int i = 0; i < length; i++) floats[i] = Exact(communicator.Rank, i);
                for (int i = 0; i < doubles.Length; i++) doubles[i] = Exact(communicator.Rank, i);
                communicator.Broadcast(floats, root);
                communicator.Broadcast(doubles, root);
                for (int i = 0; i < length && difference is null; i++)
                    if (floats[i] != Exact(root, i)) difference = $"{length} floats: [{i}] is {floats[i]:R}, rank {root}'s {Exact(root, i):R}";
                for (int i = 0; i < doubles.Length && difference is null; i++)
                    if (doubles[i] != Exact(root, i)) difference = $"{doubles.Length} doubles: [{i}] is {doubles[i]:R}, rank {root}'s {Exact(root, i):R}";
            }
            results.Add(Agreed(communicator, $"broadcast from rank {root}", difference));
        }
        return results;
    }

    // Every length's allreduce sum, reduce-scatter mean and allgather of values that round, once with each kind of
    // writes into the shared window (forced alike on every rank): the first value where they differ, or null.
    private static string? NonTemporalDifference(MpiCommunicator communicator)
    {
        int n = communicator.Size;
        try
        {
            foreach (int length in Lengths)
            {
                var (start, end) = RankParts.Of(length, n, communicator.Rank);
                var results = new float[2][];
                foreach (var writes in new[] { SlotWrites.Cached, SlotWrites.NonTemporal })
                {
                    communicator.ForcedSlotWrites = writes;
                    var sum = new float[length];
                    for (int i = 0; i < length; i++) sum[i] = Rounding(communicator.Rank, i);
                    var mean = (float[])sum.Clone();
                    var gathered = OwnPartOnly(communicator, length, Rounding);
                    communicator.AllReduce(sum, ReduceOperation.Sum);
                    communicator.ReduceScatter(mean, ReduceOperation.Mean);
                    communicator.AllGather(gathered);
                    results[(int)writes] = [.. sum, .. mean[start..end], .. gathered];
                }
                var (cached, streamed) = (results[0], results[1]);
                for (int i = 0; i < cached.Length; i++)
                    if (BitConverter.SingleToInt32Bits(cached[i]) != BitConverter.SingleToInt32Bits(streamed[i]))
                        return $"{length} values: value {i} of the allreduce, this rank's part of the reduce-scatter and the allgather is {streamed[i]:R} non-temporal, {cached[i]:R} cached";
            }
            return null;
        }
        finally
        {
            communicator.ForcedSlotWrites = null;
        }
    }

    // A buffer for an allgather: this rank's values (value(rank, i)) in its part, NaN elsewhere, so that a part the
    // gather misses shows.
    private static float[] OwnPartOnly(ICommunicator communicator, int length, Func<int, int, float> value)
    {
        var (start, end) = RankParts.Of(length, communicator.Size, communicator.Rank);
        var data = new float[length];
        for (int i = 0; i < length; i++) data[i] = i >= start && i < end ? value(communicator.Rank, i) : float.NaN;
        return data;
    }

    // Multiples of 1/16 below 32 in size: any number of ranks' sums are exact in float, in any order.
    private static float Exact(int rank, int i) => ((i * 7 + rank * 13) % 1024 - 512) / 16f;

    // Values with full mantissas, so that sums round.
    private static float Rounding(int rank, int i) => MathF.Sin(i * 0.37f + rank * 1.3f) * (1 + (i % 7) / 3f);

    // What the operation over the ranks' Exact values gives, formed in T: sums in rank order (exact anyway), the mean
    // as a division.
    private static T Expected<T>(ReduceOperation operation, int ranks, int i) where T : IFloatingPointIeee754<T>
    {
        T value = T.CreateChecked(Exact(0, i));
        for (int r = 1; r < ranks; r++)
        {
            T x = T.CreateChecked(Exact(r, i));
            value = operation switch
            {
                ReduceOperation.Max => T.Max(value, x),
                ReduceOperation.Min => T.Min(value, x),
                _ => value + x,
            };
        }
        return operation == ReduceOperation.Mean ? value / T.CreateChecked(ranks) : value;
    }

    // Whether rank 0's bits of data reach every rank unchanged: rank 0 broadcasts them, each rank compares.
    private static string? SameOnEveryRank(ICommunicator communicator, float[] data, int length)
    {
        var root = (float[])data.Clone();
        communicator.Broadcast(root);
        for (int i = 0; i < length; i++)
            if (BitConverter.SingleToInt32Bits(root[i]) != BitConverter.SingleToInt32Bits(data[i]))
                return $"{length} values: [{i}] is {data[i]:R} on rank {communicator.Rank} and {root[i]:R} on rank 0";
        return null;
    }

    // A check passes when it passed on every rank; the message is the lowest failing rank's (all ranks return it).
    private static Result Agreed(ICommunicator communicator, string check, string? difference)
    {
        Span<double> failing = [difference is null ? double.MaxValue : communicator.Rank];
        communicator.AllReduce(failing, ReduceOperation.Min);
        if (failing[0] == double.MaxValue) return new Result(check, true, null);
        int rank = (int)failing[0];
        var message = new double[512];
        if (communicator.Rank == rank)
            for (int i = 0; i < Math.Min(difference!.Length, message.Length); i++) message[i] = difference[i];
        communicator.Broadcast(message, rank);
        var text = new string([.. message.TakeWhile(c => c != 0).Select(c => (char)c)]);
        return new Result(check, false, $"rank {rank}: {text}");
    }

    private static string Name(ReduceOperation operation) => operation.ToString().ToLowerInvariant();
}
