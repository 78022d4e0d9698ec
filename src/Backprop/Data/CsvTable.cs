using System.Globalization;

namespace Backprop.Data;

/// <summary>
/// A CSV file read whole: a header naming the columns and data rows that each have exactly one field per column.
/// Knows where every value came from, so that conversion errors can name file, line and column.
/// </summary>
internal sealed class CsvTable
{
    private CsvTable(string source, string[] columns, List<CsvRecord> rows)
    {
        Source = source;
        Columns = columns;
        Rows = rows;
    }

    /// <summary>The file as named by the caller, used in messages.</summary>
    public string Source { get; }

    /// <summary>Column names from the header, in file order.</summary>
    public string[] Columns { get; }

    /// <summary>Data rows (header excluded), each with <c>Columns.Length</c> fields.</summary>
    public List<CsvRecord> Rows { get; }

    /// <summary>Opens <paramref name="path"/> for reading, with a message that names it when it does not exist.</summary>
    public static StreamReader Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"CSV file '{path}' was not found.", path);
        return new StreamReader(path, detectEncodingFromByteOrderMarks: true);
    }

    /// <summary>Reads the header and all rows; <paramref name="source"/> names the text in messages.</summary>
    public static CsvTable Read(TextReader text, string source)
    {
        var reader = new CsvReader(text, source);
        var header = reader.Next()
            ?? throw new DataFormatException($"{source} is empty: expected a header row naming the columns.", source);
        var columns = header.Fields;
        for (int j = 0; j < columns.Length; j++)
        {
            int first = Array.IndexOf(columns, columns[j]);
            if (first != j)
                throw new DataFormatException(
                    $"{source} line {header.Line}: column name '{columns[j]}' appears twice (columns {first + 1} and {j + 1}).",
                    source, header.Line, columns[j]);
        }
        var rows = new List<CsvRecord>();
        while (reader.Next() is { } row)
        {
            if (row.Fields.Length != columns.Length)
                throw new DataFormatException(
                    $"{source} line {row.Line}: expected {columns.Length} fields but found {row.Fields.Length}.", source, row.Line);
            rows.Add(row);
        }
        if (rows.Count == 0)
            throw new DataFormatException($"{source} has a header but no data rows.", source, header.Line);
        return new CsvTable(source, columns, rows);
    }

    /// <summary>The index of column <paramref name="name"/>; a missing one is reported with the columns there are.</summary>
    public int ColumnIndex(string name, string role)
    {
        int j = Array.IndexOf(Columns, name);
        if (j < 0)
            throw new DataFormatException(
                $"{Source}: {role} column '{name}' not found; the columns are {string.Join(", ", Columns.Select(c => $"'{c}'"))}.",
                Source, 1, name);
        return j;
    }

    /// <summary>Parses a finite float in the invariant culture (<c>1.5</c>, <c>-2e-3</c>).</summary>
    public static bool TryParseNumber(string text, out float value) =>
        float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && float.IsFinite(value);

    /// <summary>The number in row <paramref name="row"/>, column <paramref name="col"/>, or an error naming both.</summary>
    public float Number(int row, int col)
    {
        var text = Rows[row].Fields[col];
        if (TryParseNumber(text, out float v)) return v;
        string why = text.Length == 0 ? "is empty; expected a number"
            : float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? "is not a finite number"
            : "is not a number";
        throw ValueError(row, col, $"'{text}' {why}");
    }

    /// <summary>An error about the value in row <paramref name="row"/>, column <paramref name="col"/>.</summary>
    public DataFormatException ValueError(int row, int col, string problem)
    {
        int line = Rows[row].Line;
        return new DataFormatException($"{Source} line {line}, column '{Columns[col]}': {problem}", Source, line, Columns[col]);
    }

    /// <summary>The values of the given columns as a tensor <c>[rows, columns.Length]</c>.</summary>
    public Tensor Numbers(IReadOnlyList<int> columns)
    {
        int n = Rows.Count, f = columns.Count;
        var values = new float[n * f];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < f; j++) values[i * f + j] = Number(i, columns[j]);
        return Tensor.FromArray(values, n, f);
    }
}
