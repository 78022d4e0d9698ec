namespace Backprop.IO;

/// <summary>
/// A model or tensor file could not be read: truncated, corrupt, written by another tool, or not matching its own
/// architecture. The message names the file and what was wrong.
/// </summary>
public sealed class ModelFormatException : Exception
{
    /// <summary>Creates the exception with a message that names the file.</summary>
    public ModelFormatException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner) => FilePath = path;

    /// <summary>The file that could not be read.</summary>
    public string FilePath { get; }
}
