using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Backprop.Distributed;

namespace Backprop.Cli;

/// <summary>
/// <c>mpirun -np N backprop bench --allreduce</c>: how long averaging a gradient of each size takes, through the
/// shared-memory window (writing into it with ordinary stores, and with non-temporal ones) and through MPI_Allreduce,
/// timed in alternating blocks so that all of them see the same machine.
/// </summary>
/// <remarks>
/// Training does not force either kind of write: the window times both and uses the faster (<c>SlotWriteChooser</c>).
/// The two columns show what it chooses between on this machine, now.
/// </remarks>
internal static class AllReduceBench
{
    // Float counts: small, the shared path's threshold, and the reference models' whole gradients.
    private static readonly (int Values, string What)[] Sizes =
    [
        (MpiCommunicator.SharedMemoryMinimum, "the shared path's smallest"),
        (1 << 15, ""),
        (1 << 17, ""),
        (235_146, "the reference MLP's gradients"),
        (421_642, "the reference CNN's gradients"),
        (1 << 21, ""),
    ];

    private const int Blocks = 10, CallsPerBlock = 20;

    public static int Run(DistributedRun dist, bool json, bool quick, TextWriter log, TextWriter stdout)
    {
        var comm = dist.Communicator;
        bool shared = comm.PrepareSharedMemory();
        bool nonTemporal = comm.NonTemporalSlotWrites;
        var sizes = quick ? Sizes[..2] : Sizes;
        int blocks = quick ? 2 : Blocks;
        log.WriteLine($"allreduce  mean of floats over {comm.Size} ranks (Open MPI), the buffer rewritten before each call (as backward leaves it);");
        log.WriteLine($"           median of {blocks * CallsPerBlock} calls per path, the paths timed in alternating blocks of {CallsPerBlock}" +
            (shared ? $"; shared memory among the {comm.SharedMemoryRanks} ranks of each machine" : "; no shared window (one rank per machine, or BACKPROP_MPI_SHARED_MEMORY=0)"));
        if (shared)
            log.WriteLine("           cached: the window written with ordinary stores; streamed: with non-temporal stores (training times both" +
                (nonTemporal ? " and uses the faster)" : "; not on this machine, cached only)"));
        log.WriteLine($"{"values",12} {"bytes",12} {"cached, µs",12} {"streamed, µs",13} {"MPI, µs",12} {"MPI / shared",13}  ");
        var rows = new JsonArray();
        foreach (var (values, what) in sizes)
        {
            var data = new float[values];
            var times = new List<double>[] { [], [], [] };   // shared with cached writes, with non-temporal writes, MPI
            for (int block = 0; block < blocks; block++)
            {
                for (int path = shared ? 0 : 2; path < 3; path++)
                {
                    if (path == 1 && !nonTemporal) continue;
                    comm.SharedMemoryPaused = path == 2;
                    comm.ForcedSlotWrites = path == 1 ? SlotWrites.NonTemporal : SlotWrites.Cached;
                    for (int call = -2; call < CallsPerBlock; call++)   // two calls warm each block
                    {
                        for (int i = 0; i < data.Length; i++) data[i] = (i + call) * 1e-3f;
                        comm.Barrier();
                        long start = Stopwatch.GetTimestamp();
                        comm.AllReduce(data, ReduceOperation.Mean);
                        if (call >= 0) times[path].Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                    }
                }
            }
            comm.SharedMemoryPaused = false;
            comm.ForcedSlotWrites = null;
            double? cachedUs = shared ? Median(times[0]) : null;
            double? streamedUs = shared && nonTemporal ? Median(times[1]) : null;
            double mpiUs = Median(times[2]);
            // The ratio to the faster kind of writes: the one training settles on.
            double? sharedUs = streamedUs is { } n && cachedUs is { } c ? Math.Min(n, c) : cachedUs;
            string ratio = sharedUs is { } s ? $"{mpiUs / s,12:F2}x" : $"{"-",13}";
            log.WriteLine($"{values,12:N0} {values * 4L,12:N0} {Micro(cachedUs),12} {Micro(streamedUs),13} {mpiUs,12:F1} {ratio}  {what}");
            rows.Add((JsonNode)new JsonObject
            {
                ["values"] = values,
                ["bytes"] = values * 4L,
                ["shared_cached_us"] = cachedUs is { } u ? Math.Round(u, 1) : null,
                ["shared_nontemporal_us"] = streamedUs is { } v ? Math.Round(v, 1) : null,
                ["mpi_us"] = Math.Round(mpiUs, 1),
            });
        }
        if (json)
            Json.WriteLine(stdout, Json.Write(new JsonObject
            {
                ["ranks"] = comm.Size,
                ["shared_memory_ranks"] = comm.SharedMemoryRanks,
                ["allreduce_mean"] = rows,
            }));
        return 0;
    }

    private static string Micro(double? us) => us is { } t ? t.ToString("F1", CultureInfo.InvariantCulture) : "-";

    private static double Median(List<double> values)
    {
        values.Sort();
        int n = values.Count;
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }
}
