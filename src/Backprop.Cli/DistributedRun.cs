using System.Globalization;
using Backprop.Distributed;

namespace Backprop.Cli;

/// <summary>
/// <c>backprop train --distributed</c> under <c>mpirun -np N</c>: every rank runs the same command line; rank 0
/// prints, writes the report, the checkpoints and <c>--save</c>; the others train silently. An error on any rank
/// ends the job (MPI_Abort) rather than leaving the others waiting for it.
/// </summary>
internal sealed class DistributedRun : IDisposable
{
    public const string Help =
        "  --distributed        data-parallel training over Open MPI: mpirun -np N backprop train --distributed ...\n" +
        "                       (--batch is the global batch, a multiple of N; rank 0 prints and saves)\n" +
        "  --distributed-timeout S  abort the job when a rank waits S seconds for the others (default 120)\n";

    private DistributedRun(MpiCommunicator communicator)
    {
        Communicator = communicator;
        // Each rank steps its part of the parameters (DataParallelOptions.ShardOptimizer) unless BACKPROP_SHARD_OPTIMIZER=0.
        // BACKPROP_SHARE_FACTORS=0 reduces every dense weight gradient rather than forming the large ones from shared factors.
        Parallel = new DataParallel(communicator, new DataParallelOptions
        {
            ShardOptimizer = Environment.GetEnvironmentVariable("BACKPROP_SHARD_OPTIMIZER") != "0",
            ShareFactors = Environment.GetEnvironmentVariable("BACKPROP_SHARE_FACTORS") != "0",
        });
    }

    public MpiCommunicator Communicator { get; }

    public DataParallel Parallel { get; }

    public bool IsRoot => Communicator.Rank == 0;

    /// <summary>
    /// Runs <paramref name="train"/> (the <paramref name="command"/>) directly, or with <c>--distributed</c> as one
    /// rank of an Open MPI job (<paramref name="distributed"/>, by default: whether the arguments hold
    /// <c>--distributed</c>): output only on rank 0, MPI_Finalize at the end, MPI_Abort on an error. Without mpirun the
    /// error names <paramref name="launch"/> (e.g. <c>backprop selftest --distributed</c>) when given.
    /// </summary>
    public static int Wrap(string[] args, TextWriter stdout, TextWriter stderr, Func<string[], TextWriter, TextWriter, DistributedRun?, int> train,
        string command = "train", bool? distributed = null, string? launch = null)
    {
        if (!(distributed ?? args.Contains("--distributed"))) return train(args, stdout, stderr, null);
        if (launch is not null && !MpiCommunicator.UnderMpirun)
            throw new InvalidOperationException($"'{launch}' runs under Open MPI's launcher: start it as 'mpirun -np N {launch}'; without mpirun, {MpiCommunicator.InstallHint}.");
        var timeout = TimeoutOption(args);
        using var run = new DistributedRun(MpiCommunicator.Start(timeout));
        int rank = run.Communicator.Rank;
        try
        {
            return rank == 0 ? train(args, stdout, stderr, run) : train(args, TextWriter.Null, TextWriter.Null, run);
        }
        catch (Exception e)
        {
            // The other ranks may be waiting in a collective for this one: report, then end the whole job. Most errors
            // (options, data, a mismatch found at start) happen on every rank alike: rank 0 reports and aborts first,
            // and another rank speaks only when rank 0 has not ended the job by then.
            if (rank != 0) Thread.Sleep(TimeSpan.FromSeconds(2));
            stderr.WriteLine($"backprop {command}{(rank == 0 ? "" : $" (rank {rank})")}: {(e is UsageException or RefusedException ? "" : "error: ")}{UserMessage.Of(e)}");
            stderr.Flush();
            run.Communicator.Abort(e is UsageException or RefusedException ? 2 : 1);
            throw;
        }
    }

    /// <summary>The run's description for the log.</summary>
    public string Line(int batch) =>
        $"distributed {Communicator.Size} ranks (Open MPI), global batch {batch} = {Communicator.Size} × {batch / Communicator.Size}, " +
        $"gradients averaged in buckets of {GradientAverager.DefaultBucketBytes >> 20} MiB; rank 0 prints and saves";

    /// <summary>
    /// What the run communicated: bytes per step and rank 0's share of training time (inside epochs) spent averaging
    /// gradients and, with a sharded step, sharing the new parameters (the collectives, waiting there for the other
    /// ranks, staging and dividing), and of that the part spent waiting at the shared window's barriers. The start-up checks and
    /// broadcasts, and any wait for a rank still loading its data, happen outside epochs and are not counted.
    /// </summary>
    public string Summary()
    {
        double train = Parallel.TrainingTime.TotalSeconds, comm = Parallel.AveragingTime.TotalSeconds;
        int machines = Communicator.SharedMemoryMachines;
        // Sharded, the gradients are reduce-scattered and the stepped parameters all-gathered: an allreduce in two halves.
        string mpi = Parallel.ShardsOptimizer ? "MPI's collectives" : "MPI_Allreduce";
        string how = Parallel.ShardsOptimizer
            ? $"by reduce-scatter, each rank stepping its 1/{Communicator.Size.ToString(CultureInfo.InvariantCulture)} of the parameters before an allgather"
            : "by allreduce";
        var (calls, streamed) = Communicator.SharedMemoryWrites;
        // Which stores wrote the window (the timed choice, SlotWriteChooser): ordinary ones keep the values in cache for
        // a core that shares it; non-temporal ones send them to memory, faster for a core that does not.
        string writes = calls == 0 ? "" : $" (written with non-temporal stores in {streamed / (double)calls:P0} of {calls:N0} calls)";
        string path = !Communicator.UsesSharedMemory ? $"through {mpi}"
            : $"through shared memory among the {Communicator.SharedMemoryRanks} ranks of each machine{writes}" + (machines > 1 ? $" and {mpi} across {machines} machines" : "");
        // Dense weights whose gradient the ranks formed from each other's layer inputs and output gradients (factors).
        string factors = Parallel.SharedFactorLayers == 0 ? ""
            : string.Create(CultureInfo.InvariantCulture, $" and {Parallel.SharedFactorLayers} dense weight(s) formed from shared factors " +
                $"({Parallel.FormedBytesPerStep:N0} bytes, from {Parallel.FactorBytesPerStep:N0} bytes of layer inputs and output gradients a rank)");
        long inPlace = Parallel.BytesPerStep - Parallel.FormedBytesPerStep - Parallel.StagedBytesPerStep;
        // Of the communication, the time at the window's barriers waiting for a rank that arrived later: imbalance or
        // stalls of the other cores, which faster collectives would not remove.
        double wait = Parallel.WaitingTime.TotalSeconds;
        string waiting = !Communicator.UsesSharedMemory ? ""
            : string.Create(CultureInfo.InvariantCulture, $", {wait:0.00} s of it ({(train > 0 ? wait / train : 0):P1}) waiting at the shared-memory barriers for the other ranks to arrive");
        return string.Create(CultureInfo.InvariantCulture,
            $"averaged {Parallel.BytesPerStep:N0} bytes of gradients per step {how}, in {Parallel.BucketsPerStep} bucket(s) " +
            $"({inPlace:N0} in place, {Parallel.StagedBytesPerStep:N0} staged){factors}, {path}, {Parallel.Steps:N0} steps; " +
            $"rank 0 spent {comm:0.00} s of {train:0.00} s training in communication ({(train > 0 ? comm / train : 0):P1}){waiting}");
    }

    /// <exception cref="UsageException">The global batch does not split evenly among the ranks.</exception>
    public void CheckBatch(int batch)
    {
        int n = Communicator.Size;
        if (batch % n == 0) return;
        int down = batch / n * n;
        throw new UsageException($"--batch {batch} is the global batch and must split evenly among {n} ranks; use a multiple of {n}, e.g. {(down > 0 ? $"{down} or " : "")}{down + n}.");
    }

    /// <exception cref="UsageException">--distributed-timeout without --distributed.</exception>
    public static void Check(CommandLine cl)
    {
        if (cl.Has("distributed-timeout") && !cl.Has("distributed"))
            throw new UsageException("--distributed-timeout goes with --distributed.");
    }

    private static TimeSpan TimeoutOption(string[] args)
    {
        string? text = null;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--distributed-timeout" && i + 1 < args.Length) text = args[i + 1];
            else if (args[i].StartsWith("--distributed-timeout=", StringComparison.Ordinal)) text = args[i]["--distributed-timeout=".Length..];
        }
        if (text is null) return TimeSpan.FromSeconds(120);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || !(seconds > 0) || double.IsInfinity(seconds))
            throw new UsageException($"--distributed-timeout must be a number of seconds above 0 but got '{text}'.");
        return TimeSpan.FromSeconds(seconds);
    }

    public void Dispose() => Communicator.Dispose();
}
