using System.Diagnostics;
using Backprop.Playground;

namespace Backprop.Cli;

/// <summary><c>backprop playground</c>: serves the playground page on loopback until Ctrl-C.</summary>
internal sealed class PlaygroundCommand : ICommand
{
    public string Name => "playground";
    public string Summary => "serve a page where a small network trains live, step by step and gate by gate";
    public string Usage =>
        "usage: backprop playground [--port N] [--open]\n\n" +
        "Serves http://127.0.0.1:PORT/ (loopback only): TensorFlow Playground's datasets, features and controls\n" +
        "training on Backprop's engine, step mode (one forward/backward step in the seeds' names, the seed-001 Iris\n" +
        "example one click away) and circuit mode (an expression's gates with values, gradients and numerical\n" +
        "derivatives). Nothing is fetched from the internet. Ctrl-C stops it.\n\n" +
        "  --port N             port to listen on (default 5080; 0 picks a free one)\n" +
        "  --open               open the page in the default browser\n";

    public int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var cl = new CommandLine(args, ["port"], ["open"]);
        if (cl.Positionals.Count > 0) throw new UsageException($"unexpected argument '{cl.Positionals[0]}'.");
        int port = cl.Int("port", 5080, min: 0);
        if (port > 65535) throw new UsageException($"--port must be from 0 to 65535 but got {port}.");
        using var ctrlC = new CtrlC(stderr);
        PlaygroundServer server;
        try
        {
            server = PlaygroundServer.StartAsync(port).GetAwaiter().GetResult();
        }
        catch (IOException)
        {
            throw new RefusedException($"port {port} is in use; choose another with --port N (--port 0 picks a free one).");
        }
        stdout.WriteLine($"backprop playground: serving {server.Url} (Ctrl-C stops it)");
        stdout.Flush();
        if (cl.Has("open")) Open(server.Url, stderr);
        server.RunUntilAsync(ctrlC.Token).GetAwaiter().GetResult();
        server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return 0;
    }

    /// <summary>Hands the URL to the desktop's opener; failing that, says so and goes on serving.</summary>
    private static void Open(Uri url, TextWriter stderr)
    {
        string opener = OperatingSystem.IsWindows() ? "explorer" : OperatingSystem.IsMacOS() ? "open" : "xdg-open";
        try
        {
            using var p = Process.Start(new ProcessStartInfo(opener, url.ToString()) { UseShellExecute = false });
        }
        catch (System.ComponentModel.Win32Exception)
        {
            stderr.WriteLine($"backprop playground: could not start '{opener}' to open the page; open {url} yourself.");
        }
    }
}
