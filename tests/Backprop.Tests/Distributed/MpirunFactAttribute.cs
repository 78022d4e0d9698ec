using System.Diagnostics;

namespace Backprop.Tests.Distributed;

/// <summary>
/// A test that runs real <c>mpirun</c>: skipped, with a message saying what to install, where Open MPI is missing.
/// CI installs it (<c>apt-get install openmpi-bin libopenmpi-dev</c>) so these run there.
/// </summary>
public sealed class MpirunFactAttribute : FactAttribute
{
    public MpirunFactAttribute()
    {
        if (Mpirun.Path is null)
            Skip = "Open MPI is not installed: apt-get install openmpi-bin libopenmpi-dev to run the real mpirun tests";
        else if (!OperatingSystem.IsLinux())
            Skip = "the mpirun tests run on Linux";
    }
}

/// <summary>Starting <c>mpirun … dotnet Backprop.Cli.dll</c> and single-process runs of the CLI.</summary>
internal static class Mpirun
{
    public static readonly string? Path = FindOnPath("mpirun");

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => System.IO.Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static string Cli => System.IO.Path.Combine(AppContext.BaseDirectory, "Backprop.Cli.dll");

    private static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    /// <summary>A started <c>mpirun -np <paramref name="ranks"/></c> of <c>backprop</c> with <paramref name="args"/>, output collected.</summary>
    public static Run Start(int ranks, string workingDirectory, params string[] args) => StartWith(ranks, workingDirectory, [], args);

    /// <summary>As <see cref="Start"/>, with environment variables (NAME=VALUE) set on every rank.</summary>
    public static Run StartWith(int ranks, string workingDirectory, string[] environment, params string[] args)
    {
        // Root in CI containers, more ranks than cores on small machines; loopback only; shared-memory copies without
        // CMA (process_vm_readv), which containers often forbid.
        string[] prefix = ["--allow-run-as-root", "--oversubscribe", "--mca", "btl_tcp_if_include", "lo",
            "--mca", "btl_vader_single_copy_mechanism", "none", .. environment.SelectMany(e => new[] { "-x", e }),
            "-np", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), Dotnet, Cli];
        return new Run(Path!, [.. prefix, .. args], workingDirectory);
    }

    /// <summary>One process of <c>backprop</c>, without mpirun.</summary>
    public static Run Alone(string workingDirectory, params string[] args) => new(Dotnet, [Cli, .. args], workingDirectory);

    public sealed class Run : IDisposable
    {
        private readonly System.Text.StringBuilder output = new();

        public Run(string file, string[] args, string workingDirectory)
        {
            var start = new ProcessStartInfo(file)
            {
                RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
                WorkingDirectory = workingDirectory,
            };
            foreach (var a in args) start.ArgumentList.Add(a);
            Process = System.Diagnostics.Process.Start(start)!;
            Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
        }

        public Process Process { get; }

        public string Output
        {
            get { lock (output) return output.ToString(); }
        }

        /// <summary>Waits for the end (a hang guard, not a timing test) and returns the exit code.</summary>
        public int Wait(int seconds = 300)
        {
            Assert.True(Process.WaitForExit(TimeSpan.FromSeconds(seconds)), $"still running after {seconds} s; output:\n{Output}");
            Process.WaitForExit();
            return Process.ExitCode;
        }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }
    }

    /// <summary>The process ids of mpirun's children (the ranks) that run rank <paramref name="rank"/>.</summary>
    public static IEnumerable<int> RankProcesses(int mpirunPid, int rank)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(System.IO.Path.GetFileName(dir), out int pid)) continue;
            string environ, stat;
            try
            {
                stat = File.ReadAllText(System.IO.Path.Combine(dir, "stat"));
                environ = File.ReadAllText(System.IO.Path.Combine(dir, "environ"));
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }
            // stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields.Length > 1 && fields[1] == mpirunPid.ToString(System.Globalization.CultureInfo.InvariantCulture)
                && environ.Split('\0').Contains($"OMPI_COMM_WORLD_RANK={rank}"))
                yield return pid;
        }
    }
}
