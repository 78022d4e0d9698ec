namespace Backprop.Data;

/// <summary>
/// Thrown when a data file cannot be read as a table of examples. The message names the file, the line and, where it
/// applies, the column, e.g. <c>data.csv line 17, column 'petal_width': 'abc' is not a number</c>.
/// </summary>
public sealed class DataFormatException : FormatException
{
    /// <summary>Creates the exception from a complete message and the location it refers to.</summary>
    /// <param name="message">The full message, location included.</param>
    /// <param name="file">The file as it was named by the caller.</param>
    /// <param name="line">The 1-based line (the header is line 1), or 0 when the problem is not on one line.</param>
    /// <param name="column">The column's name, or null when the problem is not in one column.</param>
    public DataFormatException(string message, string file, int line = 0, string? column = null) : base(message)
    {
        File = file;
        Line = line;
        Column = column;
    }

    /// <summary>The file as it was named by the caller.</summary>
    public string File { get; }

    /// <summary>The 1-based line the problem is on (the header is line 1), or 0 for the file as a whole.</summary>
    public int Line { get; }

    /// <summary>The column's name, or null when the problem is not in one column.</summary>
    public string? Column { get; }
}
