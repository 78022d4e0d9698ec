namespace Backprop.Tests.Distributed;

/// <summary><c>--distributed</c> mistakes that need no mpirun: each a one-line error.</summary>
public sealed class DistributedCliTests
{
    private static (int Code, string Stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Backprop.Cli.Cli.Run(args, stdout, stderr);
        return (code, stderr.ToString());
    }

    [Fact]
    public void DistributedWithoutMpirunSaysHowToStartItAndWhatToInstall()
    {
        if (Backprop.Distributed.MpiCommunicator.UnderMpirun) return;   // the test host itself runs under mpirun
        var (code, stderr) = Run("train", "--distributed");
        Assert.Equal(1, code);
        Assert.Equal("backprop train: error: distributed training runs under Open MPI's launcher: start it as 'mpirun -np N backprop train --distributed ...'; "
            + "without mpirun, install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev).\n", stderr.ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData("selftest", "--distributed")]
    [InlineData("bench", "--allreduce")]
    public void TheCollectivesChecksWithoutMpirunSayHowToStartThem(string command, string option)
    {
        if (Backprop.Distributed.MpiCommunicator.UnderMpirun) return;
        var (code, stderr) = Run(command, option);
        Assert.Equal(1, code);
        Assert.Equal($"backprop {command}: error: 'backprop {command} {option}' runs under Open MPI's launcher: start it as 'mpirun -np N backprop {command} {option}'; "
            + "without mpirun, install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev).\n", stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void ATimeoutWithoutDistributedIsRefused()
    {
        var (code, stderr) = Run("train", "--distributed-timeout", "30");
        Assert.Equal(2, code);
        Assert.StartsWith("backprop train: --distributed-timeout goes with --distributed.\n", stderr.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public void ATimeoutThatIsNotPositiveIsRefused()
    {
        var (code, stderr) = Run("train", "--distributed", "--distributed-timeout", "0");
        Assert.Equal(2, code);
        Assert.StartsWith("backprop train: --distributed-timeout must be a number of seconds above 0 but got '0'.\n", stderr.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }
}
