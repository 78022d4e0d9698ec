using System.Globalization;
using System.Text;

namespace Backprop.Data;

/// <summary>
/// Reads and writes datasets as CSV: a header row naming the columns, then one example per row; numbers in the
/// invariant culture (<c>5.1</c>, <c>-2e-3</c>); RFC 4180 quoting. Problems are reported as
/// <see cref="DataFormatException"/>s naming file, line and column.
/// </summary>
public static class CsvDataset
{
    /// <summary>
    /// Loads a dataset whose features are every column except <paramref name="targetColumn"/>.
    /// </summary>
    /// <param name="path">The CSV file. Its name without extension becomes the dataset's name.</param>
    /// <param name="targetColumn">The header name of the column holding the targets.</param>
    /// <param name="classification">
    /// True: the target column holds class labels. False: it holds numbers (regression, targets <c>[N, 1]</c>).
    /// Null: classification when some target value is not a number, or when every value is a whole number and
    /// there are at most <see cref="MaxAutoClasses"/> distinct values (labels such as 0/1 or 1..5); else regression.
    /// </param>
    /// <remarks>
    /// Class labels are numbered in sorted order, so the numbering does not depend on row order: numerically when
    /// every label is a number (<c>2</c> before <c>10</c>), otherwise by ordinal string comparison
    /// (<c>setosa</c>, <c>versicolor</c>, <c>virginica</c> are 0, 1, 2).
    /// </remarks>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">The file is empty, a row is malformed, a value is not a number, or the
    /// target column is missing.</exception>
    public static Dataset Load(string path, string targetColumn, bool? classification = null)
    {
        using var reader = CsvTable.Open(path);
        return Load(reader, path, targetColumn, classification, Path.GetFileNameWithoutExtension(path));
    }

    /// <summary>Loads a dataset from CSV text; <paramref name="source"/> names it in messages.</summary>
    internal static Dataset Load(TextReader text, string source, string targetColumn, bool? classification, string name)
    {
        ArgumentNullException.ThrowIfNull(targetColumn);
        var table = CsvTable.Read(text, source);
        int target = table.ColumnIndex(targetColumn, "target");
        var featureColumns = Enumerable.Range(0, table.Columns.Length).Where(j => j != target).ToArray();
        if (featureColumns.Length == 0)
            throw new DataFormatException(
                $"'{source}' has no feature columns: its only column is the target '{table.Columns[target]}'; a model needs at least one input column beside it.", source);
        var features = table.Numbers(featureColumns);
        var featureNames = featureColumns.Select(j => table.Columns[j]).ToArray();

        int n = table.Rows.Count;
        for (int i = 0; i < n; i++)
            if (table.Rows[i].Fields[target].Length == 0)
                throw table.ValueError(i, target, "the target is empty.");
        bool isClassification = classification ?? LooksLikeClassLabels(table.Rows.Select(r => r.Fields[target]));

        if (!isClassification)
        {
            var values = new float[n];
            for (int i = 0; i < n; i++) values[i] = table.Number(i, target);
            return new Dataset(features, Tensor.FromArray(values, n, 1), featureNames, null, name);
        }

        var classNames = SortLabels(table.Rows.Select(r => r.Fields[target]).Distinct(StringComparer.Ordinal));
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int c = 0; c < classNames.Length; c++) index[classNames[c]] = c;
        var labels = new float[n];
        for (int i = 0; i < n; i++) labels[i] = index[table.Rows[i].Fields[target]];
        return new Dataset(features, Tensor.FromArray(labels, n), featureNames, classNames, name);
    }

    /// <summary>With no explicit choice, whole-number targets with at most this many distinct values are class labels.</summary>
    public const int MaxAutoClasses = 20;

    private static bool LooksLikeClassLabels(IEnumerable<string> targets)
    {
        var distinct = new HashSet<float>();
        foreach (var t in targets)
        {
            if (!CsvTable.TryParseNumber(t, out var v)) return true;
            if (v != MathF.Round(v) || (distinct.Add(v) && distinct.Count > MaxAutoClasses)) return false;
        }
        return true;
    }

    // Numeric labels by value (then text, so "1" and "1.0" stay distinct and ordered), anything else ordinally.
    private static string[] SortLabels(IEnumerable<string> labels)
    {
        var distinct = labels.ToArray();
        var numbers = new float[distinct.Length];
        bool allNumeric = true;
        for (int i = 0; i < distinct.Length && allNumeric; i++) allNumeric = CsvTable.TryParseNumber(distinct[i], out numbers[i]);
        if (!allNumeric) return [.. distinct.Order(StringComparer.Ordinal)];
        return [.. distinct.Select((s, i) => (s, v: numbers[i])).OrderBy(p => p.v).ThenBy(p => p.s, StringComparer.Ordinal).Select(p => p.s)];
    }

    /// <summary>
    /// Reads only the named feature columns, in the order given, as <c>[N, F]</c>: the input of <c>predict</c>,
    /// where the file may lack a target column or hold extra ones.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">The file is empty, a row is malformed, a value is not a number, or a
    /// named column is missing.</exception>
    public static Tensor ReadFeatures(string path, IReadOnlyList<string> featureNames)
    {
        ArgumentNullException.ThrowIfNull(featureNames);
        using var reader = CsvTable.Open(path);
        var table = CsvTable.Read(reader, path);
        var columns = featureNames.Select(name => table.ColumnIndex(name, "feature")).ToArray();
        return table.Numbers(columns);
    }

    /// <summary>
    /// Writes <paramref name="data"/> as CSV: the feature columns, then <paramref name="targetColumn"/> holding class
    /// names (classification) or the value (regression with one target). Numbers are written in their shortest
    /// round-trip form, so <see cref="Load(string, string, bool?)"/> reads back exactly the same dataset.
    /// </summary>
    /// <exception cref="ArgumentException">The target column's name is also a feature's name, or the dataset has more
    /// than one regression target.</exception>
    public static void Save(string path, Dataset data, string targetColumn = "target")
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(targetColumn);
        if (data.FeatureNames.Contains(targetColumn))
            throw new ArgumentException(
                $"CsvDataset.Save: the target column '{targetColumn}' has the same name as a feature column; choose another name.",
                nameof(targetColumn));
        if (!data.IsClassification && data.NumOutputs != 1)
            throw new ArgumentException(
                $"CsvDataset.Save: a CSV file holds one target column, but dataset '{data.Name}' has targets {Shapes.Format(data.Targets.dims)}.",
                nameof(data));

        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        writer.NewLine = "\n";
        writer.WriteLine(string.Join(",", data.FeatureNames.Append(targetColumn).Select(Quote)));
        var x = data.Features.data;
        var y = data.Targets.data;
        int f = data.NumFeatures;
        var line = new StringBuilder();
        for (int i = 0; i < data.Count; i++)
        {
            line.Clear();
            for (int j = 0; j < f; j++) line.Append(x[i * f + j].ToString("R", CultureInfo.InvariantCulture)).Append(',');
            line.Append(data.IsClassification
                ? Quote(data.ClassNames![(int)y[i]])
                : y[i].ToString("R", CultureInfo.InvariantCulture));
            writer.WriteLine(line);
        }
    }

    // RFC 4180: quote a field holding a comma, quote or line break, one with edge blanks the reader would trim, and
    // an empty one (a lone empty field would otherwise read as a blank line).
    private static string Quote(string field)
    {
        bool needs = field.Length == 0 || field.AsSpan().IndexOfAny(",\"\r\n") >= 0
            || char.IsWhiteSpace(field[0]) || char.IsWhiteSpace(field[^1]);
        return needs ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;
    }
}
