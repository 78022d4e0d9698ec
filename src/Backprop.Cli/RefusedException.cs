namespace Backprop.Cli;

/// <summary>
/// A command line refused before any work because carrying it out would fail late or lose work (an output path
/// that cannot be written, a checkpoint that would be overwritten): printed as one line, exit code 2 like a usage
/// error, without the usage text that would bury the line.
/// </summary>
internal sealed class RefusedException(string message) : Exception(message);
