using System.Globalization;
using System.Text.Json.Nodes;
using Backprop.Kernels;

namespace Backprop.Cli;

/// <summary>
/// <c>backprop selftest</c>: every SIMD kernel at every vector width against its scalar twin, bit for bit, on this
/// machine (widths it does not accelerate run in software). Exit code 1 if any differs.
/// </summary>
internal sealed class SelftestCommand : ICommand
{
    public string Name => "selftest";
    public string Summary => "check every SIMD kernel at every vector width against its scalar twin";
    public string Usage =>
        "usage: backprop selftest [--json]\n" +
        "       mpirun -np N backprop selftest --distributed [--json]\n\n" +
        "Runs each SIMD kernel at Vector128, Vector256 and Vector512 on fixed pseudo-random data, at sizes that reach\n" +
        "every tail, and compares the result with the kernel's scalar twin bit for bit. Widths this machine does not\n" +
        "accelerate run in software (marked 'emulated'), so every path is checked on any CPU. Prints the width the\n" +
        "kernels run at and the widest the hardware accelerates, one line per kernel and width, and a final line\n" +
        "'selftest: N passed, M failed'. Exit code 1 if any kernel differs.\n\n" +
        "  --json               print one JSON object instead\n" +
        "  --distributed        check the collectives data-parallel training uses instead, on every rank of an Open MPI\n" +
        "                       job: sums, means, largest, smallest and broadcasts of floats and doubles, and the\n" +
        "                       reduce-scatter and allgather halves of float sums and means, at lengths that reach every\n" +
        "                       edge of the shared-memory path, against values each rank computes alone,\n" +
        "                       bit for bit, that every rank gets the same bits, and (on x86) that the shared window\n" +
        "                       written with non-temporal stores gives the bits of ordinary stores (rank 0 prints)\n\n" +
        "BACKPROP_SIMD=scalar|v128|v256|v512 forces the width every kernel runs at (capped to the hardware's).\n";

    public int Run(string[] args, TextWriter stdout, TextWriter stderr) => DistributedRun.Wrap(args, stdout, stderr, Check, Name, launch: "backprop selftest --distributed");

    private static int Check(string[] args, TextWriter stdout, TextWriter stderr, DistributedRun? dist)
    {
        var cl = new CommandLine(args, ["distributed-timeout"], ["json", "distributed"]);
        if (cl.Positionals.Count > 0) throw new UsageException($"unexpected argument '{cl.Positionals[0]}'.");
        DistributedRun.Check(cl);
        if (dist is not null) return CheckCollectives(dist, cl.Has("json"), stdout);
        var results = KernelSelfTest.Run();
        int failed = results.Count(r => !r.Matches), passed = results.Count - failed;
        if (cl.Has("json"))
        {
            var checks = new JsonArray();
            foreach (var r in results)
                checks.Add((JsonNode)new JsonObject
                {
                    ["kernel"] = r.Kernel,
                    ["width"] = Simd.Name(r.Width),
                    ["accelerated"] = r.Accelerated,
                    ["matches"] = r.Matches,
                    ["max_difference"] = double.IsFinite(r.MaxDifference) ? r.MaxDifference : null,   // a NaN against a number
                });
            Json.WriteLine(stdout, Json.Write(new JsonObject
            {
                ["width"] = Simd.Name(Simd.Width),
                ["hardware_width"] = Simd.Name(Simd.HardwareWidth),
                ["gemm_kernel"] = Gemm.Variant.ToString(),
                ["checks"] = checks,
                ["passed"] = passed,
                ["failed"] = failed,
            }));
            return failed == 0 ? 0 : 1;
        }
        stdout.WriteLine($"width: {Simd.Name(Simd.Width)} (hardware: {Simd.Name(Simd.HardwareWidth)}; GEMM kernel {Gemm.Variant})");
        foreach (var r in results)
        {
            string how = r.Accelerated ? "" : " (emulated)";
            string verdict = r.Matches ? "ok" : $"FAILED, max difference {r.MaxDifference.ToString("G9", CultureInfo.InvariantCulture)}";
            stdout.WriteLine($"{r.Kernel,-36} {Simd.Name(r.Width),-5} {verdict}{how}");
        }
        stdout.WriteLine($"selftest: {passed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    // --distributed: every rank checks the collectives; rank 0 prints (the others' writers are null).
    private static int CheckCollectives(DistributedRun dist, bool json, TextWriter stdout)
    {
        var communicator = dist.Communicator;
        var results = Distributed.CommunicatorSelfTest.Run(communicator);
        int failed = results.Count(r => !r.Passed), passed = results.Count - failed;
        string path = communicator.UsesSharedMemory
            ? $"shared memory among the {communicator.SharedMemoryRanks} ranks of each machine" +
              (communicator.SharedMemoryMachines > 1 ? $", MPI_Allreduce across {communicator.SharedMemoryMachines} machines" : "")
            : "MPI_Allreduce";
        if (json)
        {
            var checks = new JsonArray();
            foreach (var r in results)
                checks.Add((JsonNode)new JsonObject { ["check"] = r.Check, ["passed"] = r.Passed, ["difference"] = r.Difference });
            Json.WriteLine(stdout, Json.Write(new JsonObject
            {
                ["ranks"] = communicator.Size,
                ["large_float_sums"] = communicator.UsesSharedMemory ? "shared memory" : "MPI_Allreduce",
                ["checks"] = checks,
                ["passed"] = passed,
                ["failed"] = failed,
            }));
            return failed == 0 ? 0 : 1;
        }
        stdout.WriteLine($"collectives of {communicator.Size} ranks (Open MPI); float sums of {Distributed.MpiCommunicator.SharedMemoryMinimum:N0} values or more through {path}");
        foreach (var r in results) stdout.WriteLine($"{r.Check,-80} {(r.Passed ? "ok" : $"FAILED, {r.Difference}")}");
        stdout.WriteLine($"selftest: {passed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }
}
