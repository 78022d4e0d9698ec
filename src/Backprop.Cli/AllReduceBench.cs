using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Backprop.Distributed;

namespace Backprop.Cli;

/// <summary>
/// <c>mpirun -np N backprop bench --allreduce</c>: how long averaging a gradient of each size takes, through the
/// shared-memory window and through MPI_Allreduce, timed in alternating blocks so that both see the same machine.
/// </summary>
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
        var sizes = quick ? Sizes[..2] : Sizes;
        int blocks = quick ? 2 : Blocks;
        log.WriteLine($"allreduce  mean of floats over {comm.Size} ranks (Open MPI), the buffer rewritten before each call (as backward leaves it);");
        log.WriteLine($"           median of {blocks * CallsPerBlock} calls per path, the paths timed in alternating blocks of {CallsPerBlock}" +
            (shared ? $"; shared memory among the {comm.SharedMemoryRanks} ranks of each machine" : "; no shared window (one rank per machine, or BACKPROP_MPI_SHARED_MEMORY=0)"));
        log.WriteLine($"{"values",12} {"bytes",12} {"shared, µs",12} {"MPI, µs",12} {"MPI / shared",13}  ");
        var rows = new JsonArray();
        foreach (var (values, what) in sizes)
        {
            var data = new float[values];
            var times = new List<double>[] { [], [] };   // shared, MPI
            for (int block = 0; block < blocks; block++)
            {
                for (int path = shared ? 0 : 1; path < 2; path++)
                {
                    comm.SharedMemoryPaused = path == 1;
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
            double? sharedUs = shared ? Median(times[0]) : null;
            double mpiUs = Median(times[1]);
            string ratio = sharedUs is { } s ? $"{mpiUs / s,12:F2}x" : $"{"-",13}";
            log.WriteLine($"{values,12:N0} {values * 4L,12:N0} {(sharedUs is { } t ? t.ToString("F1", CultureInfo.InvariantCulture) : "-"),12} {mpiUs,12:F1} {ratio}  {what}");
            rows.Add((JsonNode)new JsonObject
            {
                ["values"] = values,
                ["bytes"] = values * 4L,
                ["shared_us"] = sharedUs is { } u ? Math.Round(u, 1) : null,
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

    private static double Median(List<double> values)
    {
        values.Sort();
        int n = values.Count;
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }
}
