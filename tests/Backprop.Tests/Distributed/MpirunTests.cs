using System.Diagnostics;
using Backprop.IO;
using Backprop.Training;

namespace Backprop.Tests.Distributed;

/// <summary>
/// <c>mpirun -np N backprop train --distributed</c> for real, over loopback: the same model as one process, output
/// and files from rank 0 only, a killed rank ending the job with the checkpoint whole, a hung rank ending it through
/// the watchdog, and resuming with another N.
/// </summary>
public sealed class MpirunTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-mpi-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    // Iris: 120 training rows, split evenly by 2 and 3, so N ranks see exactly one process's batches.
    private static readonly string[] Iris = ["train", "--epochs", "3", "--batch", "12", "--log-every", "1"];

    [MpirunFact]
    public void TwoRanksTrainTheModelOneProcessTrains()
    {
        using (var alone = Mpirun.Alone(dir, [.. Iris, "--save", "alone.safetensors"])) Assert.Equal(0, alone.Wait());
        using var run = Mpirun.Start(2, dir, [.. Iris, "--distributed", "--save", "two.safetensors"]);
        Assert.True(run.Wait() == 0, run.Output);

        var one = SafeTensors.Read(Path.Combine(dir, "alone.safetensors")).Tensors;
        var two = SafeTensors.Read(Path.Combine(dir, "two.safetensors")).Tensors;
        Assert.Equal(one.Keys.Order(), two.Keys.Order());
        var names = one.Keys.Order().ToArray();
        double difference = DistributedData.MaxRelativeDifference([.. names.Select(n => two[n].ToArray())], [.. names.Select(n => one[n].ToArray())]);
        Assert.True(difference <= 1e-5, $"largest relative difference {difference:E2}");
        // Rank 0 alone prints: one line per epoch, one 'saved'.
        Assert.Equal(3, run.Output.Split('\n').Count(l => l.StartsWith("epoch ", StringComparison.Ordinal) && l.Contains("test_loss", StringComparison.Ordinal)));
        Assert.Single(run.Output.Split('\n'), l => l.StartsWith("saved", StringComparison.Ordinal));
        Assert.Contains("distributed 2 ranks (Open MPI), global batch 12 = 2 × 6", run.Output, StringComparison.Ordinal);
    }

    [MpirunFact]
    public void ShardedOptimizerStepsTrainTheModelOneProcessTrainsThroughMpiAndSharedMemory()
    {
        // The default model's 803 parameters take MPI_Reduce_scatter and MPI_Allgatherv (below the shared path's 8,192
        // values); dense(4096)'s 32,771 take the shared window, on 3 ranks; BACKPROP_SHARD_OPTIMIZER=0 steps whole.
        // Then one process resumes from the sharded run's checkpoint, which must hold the whole optimizer state.
        foreach (var (ranks, model, shard) in new[] { (2, "dense(100)-relu-dense(3)", true), (3, "dense(4096)-relu-dense(3)", true), (2, "dense(4096)-relu-dense(3)", false) })
        {
            string name = $"sharded{ranks}{shard}";
            using (var alone = Mpirun.Alone(dir, [.. Iris, "--model", model, "--save", $"{name}-alone.safetensors"])) Assert.Equal(0, alone.Wait());
            using (var run = Mpirun.StartWith(ranks, dir, shard ? [] : ["BACKPROP_SHARD_OPTIMIZER=0"],
                [.. Iris, "--model", model, "--distributed", "--save", $"{name}.safetensors"]))
            {
                Assert.True(run.Wait() == 0, run.Output);
                if (shard) Assert.Contains($"per step by reduce-scatter, each rank stepping its 1/{ranks} of the parameters before an allgather,", run.Output, StringComparison.Ordinal);
                else Assert.Contains("bytes of gradients per step by allreduce,", run.Output, StringComparison.Ordinal);
            }
            AssertSameTensors(Path.Combine(dir, $"{name}-alone.safetensors"), Path.Combine(dir, $"{name}.safetensors"));
        }

        using (var two = Mpirun.Start(2, dir,
            "train", "--epochs", "2", "--batch", "12", "--log-every", "1", "--schedule", "constant", "--distributed", "--checkpoint", "ck"))
            Assert.True(two.Wait() == 0, two.Output);
        using (var resumed = Mpirun.Alone(dir, [.. Iris, "--schedule", "constant", "--checkpoint", "ck", "--resume", "--save", "resumed.safetensors"]))
            Assert.True(resumed.Wait() == 0, resumed.Output);
        using (var alone = Mpirun.Alone(dir, [.. Iris, "--schedule", "constant", "--save", "alone3.safetensors"])) Assert.Equal(0, alone.Wait());
        AssertSameTensors(Path.Combine(dir, "alone3.safetensors"), Path.Combine(dir, "resumed.safetensors"));
    }

    [MpirunFact]
    public void WeightsFormedFromSharedFactorsTrainTheModelOneProcessTrainsThroughMpiAndSharedMemory()
    {
        // The 128×128 layer's factors on 2 ranks of 6 rows are 3,072 values: MPI_Allgatherv. The 256×256 layer's on 3
        // ranks of 20 rows are 30,720: the shared window. Either way fewer than the weight's own values, so shared.
        foreach (var (ranks, width, batch) in new[] { (2, 128, 12), (3, 256, 60) })
        {
            string name = $"factors{ranks}", model = $"dense({width})-relu-dense({width})-relu-dense(3)";
            string[] args = ["train", "--epochs", "3", "--batch", $"{batch}", "--log-every", "1", "--model", model];
            using (var alone = Mpirun.Alone(dir, [.. args, "--save", $"{name}-alone.safetensors"])) Assert.Equal(0, alone.Wait());
            using (var run = Mpirun.Start(ranks, dir, [.. args, "--distributed", "--save", $"{name}.safetensors"]))
            {
                Assert.True(run.Wait() == 0, run.Output);
                Assert.Contains($"and 1 dense weight(s) formed from shared factors ({width * width * 4:N0} bytes, from {batch / ranks * 2 * width * 4:N0} bytes of layer inputs and output gradients a rank)",
                    run.Output, StringComparison.Ordinal);
                // The parameters' allgather went through the window, whose barriers count the waiting: a part of the communication.
                var shares = System.Text.RegularExpressions.Regex.Match(run.Output,
                    @"in communication \((?<comm>[0-9.]+) %\), [0-9.]+ s of it \((?<wait>[0-9.]+) %\) waiting at the shared-memory barriers for the other ranks to arrive");
                Assert.True(shares.Success, run.Output);
                Assert.True(double.Parse(shares.Groups["wait"].Value, System.Globalization.CultureInfo.InvariantCulture)
                    <= double.Parse(shares.Groups["comm"].Value, System.Globalization.CultureInfo.InvariantCulture), run.Output);
            }
            AssertSameTensors(Path.Combine(dir, $"{name}-alone.safetensors"), Path.Combine(dir, $"{name}.safetensors"));
        }
    }

    private static void AssertSameTensors(string expectedFile, string actualFile)
    {
        var expected = SafeTensors.Read(expectedFile).Tensors;
        var actual = SafeTensors.Read(actualFile).Tensors;
        var names = expected.Keys.Order().ToArray();
        Assert.Equal(names, actual.Keys.Order());
        double difference = DistributedData.MaxRelativeDifference([.. names.Select(n => actual[n].ToArray())], [.. names.Select(n => expected[n].ToArray())]);
        Assert.True(difference <= 1e-5, $"{Path.GetFileName(actualFile)} against {Path.GetFileName(expectedFile)}: largest relative difference {difference:E2}");
    }

    [MpirunFact]
    public void ABatchThatDoesNotSplitAmongTheRanksIsOneLine()
    {
        using var run = Mpirun.Start(3, dir, "train", "--distributed", "--batch", "16");
        Assert.Equal(2, run.Wait());
        Assert.Contains("backprop train: --batch 16 is the global batch and must split evenly among 3 ranks; use a multiple of 3, e.g. 15 or 18.", run.Output, StringComparison.Ordinal);
    }

    [MpirunFact]
    public void AKilledRankEndsTheJobAndTheCheckpointResumesWithAnotherRankCount()
    {
        var checkpoint = Path.Combine(dir, "ck");
        // Far more epochs than the test waits for: only the kill ends the run.
        using var run = Mpirun.Start(2, dir, "train", "--distributed", "--epochs", "1000000", "--batch", "12", "--log-every", "1000000",
            "--schedule", "constant", "--checkpoint", checkpoint);
        var file = Checkpoint.PathIn(checkpoint);
        var waited = Stopwatch.StartNew();
        while (!File.Exists(file) && !run.Process.HasExited && waited.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(100);
        Assert.True(File.Exists(file), $"no checkpoint was written; output:\n{run.Output}");
        Thread.Sleep(500);   // a few more epochs, so the kill may land while rank 0 rewrites it

        int victim = Assert.Single(Mpirun.RankProcesses(run.Process.Id, rank: 1));
        var clock = Stopwatch.StartNew();
        Process.GetProcessById(victim).Kill();   // SIGKILL
        int code = run.Wait(60);
        var stopped = clock.Elapsed;
        Assert.NotEqual(0, code);
        Assert.Contains("rank 1", run.Output, StringComparison.Ordinal);
        Assert.Contains("signal 9", run.Output, StringComparison.Ordinal);

        // The checkpoint is whole: it loads, and training resumes from it, on 3 ranks this time.
        var (epoch, _) = Checkpoint.ReadPosition(checkpoint);
        Assert.True(epoch >= 1);
        using var resumed = Mpirun.Start(3, dir, "train", "--distributed", "--epochs", (epoch + 2).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--batch", "12", "--log-every", "1", "--schedule", "constant", "--checkpoint", checkpoint, "--resume", "--save", "resumed.safetensors");
        Assert.True(resumed.Wait() == 0, $"stopped {stopped.TotalSeconds:0.0} s after the kill; resumed:\n{resumed.Output}");
        Assert.Contains($"epoch {epoch + 2}/{epoch + 2}", resumed.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(dir, "resumed.safetensors")));
    }

    [MpirunFact]
    public void AHungRankEndsTheJobThroughTheWatchdogWithinTheTimeout() => HungRankEndsTheJob([]);

    [MpirunFact]
    public void AHungRankEndsTheJobWhileTheOthersWaitInTheSharedMemoryAllreduce() =>
        HungRankEndsTheJob(["--model", "dense(4096)-relu-dense(3)"]);   // 16,384 first-layer weights: the shared path

    private void HungRankEndsTheJob(string[] model)
    {
        // mpirun notices a dead rank, but not a stopped one: only --distributed-timeout ends this job.
        using var run = Mpirun.Start(2, dir, ["train", "--distributed", "--distributed-timeout", "3", "--epochs", "1000000", "--batch", "12",
            "--log-every", "1", "--schedule", "constant", .. model]);
        var waited = Stopwatch.StartNew();
        bool Training() => run.Output.Contains("2/1000000", StringComparison.Ordinal);   // "epoch       2/1000000"
        while (!Training() && !run.Process.HasExited && waited.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(100);
        Assert.True(Training(), $"the job did not start training; output:\n{run.Output}");

        int victim = Assert.Single(Mpirun.RankProcesses(run.Process.Id, rank: 1));
        var clock = Stopwatch.StartNew();
        Signal(victim, "STOP");
        try
        {
            int code = run.Wait(60);
            var stopped = clock.Elapsed;
            Assert.NotEqual(0, code);
            Assert.Contains("backprop: rank 0 of 2 waited 3 s in", run.Output, StringComparison.Ordinal);
            Assert.Contains("one of them has died or hangs; aborting the job.", run.Output, StringComparison.Ordinal);
            // The timeout, plus the watchdog's poll and MPI_Abort's teardown: well under the 60 s a hang would take.
            Assert.True(stopped < TimeSpan.FromSeconds(30), $"the job ended {stopped.TotalSeconds:0.0} s after the rank stopped");
        }
        finally
        {
            Signal(victim, "KILL");
        }
    }

    [MpirunFact]
    public void TheCollectivesPassTheirSelfTestThroughSharedMemoryOnTwoAndThreeRanks()
    {
        foreach (int ranks in new[] { 2, 3 })
        {
            using var run = Mpirun.Start(ranks, dir, "selftest", "--distributed");
            Assert.True(run.Wait() == 0, run.Output);
            Assert.Contains($"collectives of {ranks} ranks (Open MPI); float sums of 8,192 values or more through shared memory among the {ranks} ranks of each machine", run.Output, StringComparison.Ordinal);
            Assert.Contains("selftest: 15 passed, 0 failed", run.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("FAILED", run.Output, StringComparison.Ordinal);
        }
    }

    [MpirunFact]
    public void TheCollectivesPassTheirSelfTestAcrossMachinesSimulatedOnOne()
    {
        // 4 ranks as 2 machines of 2, 6 as 3 of 2: each chunk's sum crosses machines through MPI_Allreduce.
        foreach (int ranks in new[] { 4, 6 })
        {
            using var run = Mpirun.StartWith(ranks, dir, ["BACKPROP_MPI_RANKS_PER_MACHINE=2"], "selftest", "--distributed");
            Assert.True(run.Wait() == 0, run.Output);
            Assert.Contains($"through shared memory among the 2 ranks of each machine, MPI_Allreduce across {ranks / 2} machines", run.Output, StringComparison.Ordinal);
            Assert.Contains("selftest: 15 passed, 0 failed", run.Output, StringComparison.Ordinal);
        }
    }

    [MpirunFact]
    public void TheCollectivesPassTheirSelfTestThroughMpiAllreduceWhenSharedMemoryIsOff()
    {
        using var run = Mpirun.StartWith(3, dir, ["BACKPROP_MPI_SHARED_MEMORY=0"], "selftest", "--distributed", "--json");
        Assert.True(run.Wait() == 0, run.Output);
        Assert.Contains("\"large_float_sums\":\"MPI_Allreduce\"", run.Output, StringComparison.Ordinal);
        Assert.Contains("\"failed\":0", run.Output, StringComparison.Ordinal);
    }

    [MpirunFact]
    public void TheAllreduceBenchTimesEveryPathOnRankZero()
    {
        using var run = Mpirun.Start(2, dir, "bench", "--allreduce", "--quick", "--json");
        Assert.True(run.Wait() == 0, run.Output);
        var line = run.Output.Split('\n').Single(l => l.StartsWith('{') || l.Contains("{\"ranks\"", StringComparison.Ordinal));
        var json = System.Text.Json.Nodes.JsonNode.Parse(line[line.IndexOf('{')..])!;
        Assert.Equal(2, (int)json["ranks"]!);
        Assert.Equal(2, (int)json["shared_memory_ranks"]!);
        var rows = json["allreduce_mean"]!.AsArray();
        Assert.Equal([8192, 32768], rows.Select(r => (int)r!["values"]!));
        // Both kinds of writes into the window where non-temporal stores exist (x86), cached only elsewhere.
        Assert.All(rows, r => Assert.True((double)r!["shared_cached_us"]! > 0 && (double)r["mpi_us"]! > 0, r.ToJsonString()));
        Assert.All(rows, r => Assert.Equal(System.Runtime.Intrinsics.X86.Sse.IsSupported, r!["shared_nontemporal_us"] is not null));
    }

    // kill -SIGNAL pid, ignoring a process that is already gone.
    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardError = true,
        })!;
        kill.WaitForExit();
    }
}
