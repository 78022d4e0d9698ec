using System.Net;
using System.Net.Sockets;

namespace Backprop.Tests.Cli;

/// <summary><c>backprop playground</c>'s argument mistakes (the server itself is tested in Backprop.Playground.Tests).</summary>
public sealed class PlaygroundCliTests
{
    [Fact]
    public void A_port_out_of_range_is_a_usage_error()
    {
        var (code, _, err) = CliRunner.Run(["playground", "--port", "70000"]);
        Assert.Equal(2, code);
        Assert.StartsWith("backprop playground: --port must be from 0 to 65535 but got 70000.\nusage: backprop playground", err.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void A_stray_argument_is_a_usage_error()
    {
        var (code, _, err) = CliRunner.Run(["playground", "8080"]);
        Assert.Equal(2, code);
        Assert.StartsWith("backprop playground: unexpected argument '8080'.", err);
    }

    [Fact]
    public void A_port_in_use_is_refused_in_one_line()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var (code, _, err) = CliRunner.Run(["playground", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.Equal(2, code);
        Assert.Equal($"backprop playground: port {port} is in use; choose another with --port N (--port 0 picks a free one).\n", err.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void The_help_lists_the_command()
    {
        var (_, stdout, _) = CliRunner.Run(["--help"]);
        Assert.Contains("  playground   serve a page where a small network trains live", stdout);
    }
}
