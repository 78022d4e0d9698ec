using Backprop.Data;
using Backprop.IO;

namespace Backprop.Cli;

/// <summary>The <c>backprop</c> command: dispatches to a subcommand and turns user mistakes into one-line errors.</summary>
internal static class Cli
{
    private static readonly ICommand[] Commands =
    [
        new TrainCommand(), new EvaluateCommand(), new PredictCommand(),
        new SummaryCommand(), new ExplainCommand(), new GradCommand(), new GradCheckCommand(), new BenchCommand(), new SelftestCommand(),
        new ExportCommand(), new ImportCommand(), new ImportTorchCommand(), new ExportTorchCommand(), new GenerateCommand(),
        new PlaygroundCommand(),
    ];

    /// <summary>The tool's version: the assembly's informational version without the build metadata after '+'.</summary>
    internal static string Version
    {
        get
        {
            var info = typeof(Cli).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0.0.0";
            int plus = info.IndexOf('+', StringComparison.Ordinal);
            return plus < 0 ? info : info[..plus];
        }
    }

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            stdout.Write(MainUsage());
            return args.Length == 0 ? 2 : 0;
        }
        if (args[0] is "--version" or "version")
        {
            stdout.WriteLine($"backprop {Version}");
            return 0;
        }
        var command = Commands.FirstOrDefault(c => c.Name == args[0]);
        if (command is null)
        {
            stderr.WriteLine($"backprop: unknown command '{args[0]}'.");
            stderr.Write(MainUsage());
            return 2;
        }
        if (args.Skip(1).Any(a => a is "-h" or "--help"))
        {
            stdout.Write(command.Usage);
            return 0;
        }
        try
        {
            return command.Run(args[1..], stdout, stderr);
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"backprop {command.Name}: {e.Message}");
            stderr.Write(UsageAfterError(command));
            return 2;
        }
        catch (RefusedException e)
        {
            stderr.WriteLine($"backprop {command.Name}: {e.Message}");
            return 2;
        }
        catch (Exception e) when (IsUserError(e))
        {
            stderr.WriteLine($"backprop {command.Name}: error: {UserMessage.Of(e)}");
            return 1;
        }
    }

    // A usage error is followed by the command's usage when it is short enough to read under the error; a longer one
    // (train's runs to 70 lines) would push the error off the screen, so its first line and where to find the rest.
    private const int MostUsageLinesAfterError = 25;

    private static string UsageAfterError(ICommand command)
    {
        var lines = command.Usage.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        if (lines.Length <= MostUsageLinesAfterError) return command.Usage;
        return $"{lines[0]}\nRun 'backprop {command.Name} --help' for its options.\n";
    }

    /// <summary>Errors caused by the input (files, data, arguments, shapes), reported without a stack trace.</summary>
    private static bool IsUserError(Exception e) => e is ArgumentException or FormatException or IOException
        or ModelFormatException or DataFormatException or UnauthorizedAccessException or ArithmeticException
        or InvalidOperationException or Backprop.Explain.ExpressionException;

    private static string MainUsage() =>
        "usage: backprop <command> [options]\n\n" +
        "commands:\n" +
        string.Concat(Commands.Select(c => $"  {c.Name,-12} {c.Summary}\n")) +
        "\nRun 'backprop <command> --help' for a command's options; 'backprop --version' prints the version.\n";
}

/// <summary>One subcommand of <c>backprop</c>.</summary>
internal interface ICommand
{
    string Name { get; }
    string Summary { get; }
    string Usage { get; }
    int Run(string[] args, TextWriter stdout, TextWriter stderr);
}
