using System.Globalization;

namespace Backprop.Playground;

/// <summary>
/// A user's CSV as playground points: k ≥ 2 comma-separated numeric feature columns, then a label (a class name or
/// number) or a regression target last, with an optional header line that names the columns. Each feature is scaled
/// linearly onto [−5, 5] and a target onto [−1, 1], so the data fills the page's plane and colour scale;
/// <see cref="Columns"/>, <see cref="Ranges"/> and <see cref="Means"/> say what the scaled axes were.
/// </summary>
/// <param name="Points">The scaled points, one input column per feature.</param>
/// <param name="Columns">The k feature names, then the label's.</param>
/// <param name="Ranges">Each feature's [min, max] in the file's units.</param>
/// <param name="Means">Each feature's mean in the file's units.</param>
/// <param name="TargetRange">A regression target's [min, max]; null for classes.</param>
internal sealed record CsvData(PointSet Points, string[] Columns, (float Min, float Max)[] Ranges, float[] Means,
    (float Min, float Max)? TargetRange)
{
    /// <summary>The most classes a CSV may have (colours the page can tell apart).</summary>
    public const int MaxClasses = 8;
    /// <summary>The most feature columns a CSV may have (input nodes the page can draw, in one column of the diagram).</summary>
    public const int MaxFeatures = 16;
    /// <summary>The most bad lines one reply lists.</summary>
    private const int MaxListed = 5;
    /// <summary>Scaled features span [−HalfSpan, HalfSpan].</summary>
    private const float HalfSpan = 5f;

    /// <summary>The tasks an upload may ask for: auto, classes, regression.</summary>
    public static readonly string[] Tasks = ["auto", "classes", "regression"];

    /// <summary>k, the number of feature columns.</summary>
    public int FeatureCount => Ranges.Length;

    /// <summary>
    /// Reads <paramref name="text"/>. Its first line fixes the number of columns (2 to <see cref="MaxFeatures"/>
    /// features and a label); it is a header when one of its feature fields is not a number. With
    /// <paramref name="task"/> auto, a label column of whole numbers with at most <see cref="MaxClasses"/> distinct
    /// values, or of any text that is not all numbers, is classes; other numbers are a regression target.
    /// </summary>
    /// <exception cref="ApiException">400 listing the bad lines by number (at most five), or saying what is wrong with
    /// the whole file; 413 for more than <paramref name="maxRows"/> rows.</exception>
    public static CsvData Parse(string text, string task, int maxRows)
    {
        var lines = text.Split('\n');
        string[]? columns = null;
        int width = 0, widthLine = 0;   // values per line, and the line that set it
        var features = new List<float[]>();
        var labels = new List<string>();
        var errors = new List<string>();
        int badLines = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Trim().Length == 0) continue;
            var fields = line.Split(',').Select(f => f.Trim().Trim('"').Trim()).ToArray();
            if (columns is null)
            {
                width = fields.Length;
                widthLine = i + 1;
                if (width < 3 || width > MaxFeatures + 1)
                    throw new ApiException(400, $"line {widthLine} has {width} comma-separated value{(width == 1 ? "" : "s")}, but the playground takes 2 to {MaxFeatures} numeric feature columns and a label column last (3 to {MaxFeatures + 1} values a line)");
                // A header: the first line, when one of its feature fields is not a number.
                bool header = fields[..^1].Any(f => !TryNumber(f, out _));
                columns = header ? fields : [.. Enumerable.Range(1, width - 1).Select(c => $"x{c}"), "label"];
                if (header) continue;
            }
            string? error = null;
            var row = new float[width - 1];
            if (fields.Length != width)
                error = $"expected {width} comma-separated values ({string.Join(", ", columns)}) as line {widthLine} has, but got {fields.Length}";
            else
            {
                for (int c = 0; c < width - 1 && error is null; c++)
                    if (!TryNumber(fields[c], out row[c]))
                        error = $"{columns[c]} must be a number but got {Quote(fields[c])}";
                string value = fields[^1];
                error ??= value.Length == 0 ? $"{columns[^1]} is empty"
                    : task == "regression" && !TryNumber(value, out _) ? $"{columns[^1]} must be a number (the regression target) but got {Quote(value)}"
                    : null;
                if (error is null)
                {
                    features.Add(row);
                    labels.Add(value);
                }
            }
            if (error is not null)
            {
                badLines++;
                if (errors.Count < MaxListed) errors.Add($"line {i + 1}: {error}");
            }
        }
        if (badLines > 0)
        {
            string more = badLines > errors.Count ? $"\n… and {badLines - errors.Count} more" : "";
            throw new ApiException(400, $"the CSV has {badLines} bad line{(badLines == 1 ? "" : "s")}:\n{string.Join("\n", errors)}{more}");
        }
        columns ??= ["x1", "x2", "label"];
        if (labels.Count > maxRows)
            throw new ApiException(413, $"the CSV may have at most {maxRows} rows but has {labels.Count}");
        if (labels.Count < 4)
            throw new ApiException(400, $"the CSV needs at least 4 rows of {string.Join(", ", columns)} (some to train on, some to test) but has {labels.Count}");

        int k = columns.Length - 1;
        var inputs = new float[k][];
        var ranges = new (float Min, float Max)[k];
        var means = new float[k];
        for (int c = 0; c < k; c++)
        {
            var column = features.Select(r => r[c]).ToList();
            means[c] = (float)column.Average(v => (double)v);
            inputs[c] = Scale(column, HalfSpan, out ranges[c]);
        }
        string labelName = columns[^1];
        bool allNumbers = labels.All(l => TryNumber(l, out _));
        var distinct = labels.Distinct(StringComparer.Ordinal).ToList();
        bool classes = task switch
        {
            "classes" => true,
            "regression" => false,
            _ => !allNumbers || (labels.All(l => TryNumber(l, out float v) && v == MathF.Round(v)) && distinct.Count <= MaxClasses),
        };
        if (!classes)
        {
            var targets = Scale(labels.Select(l => { TryNumber(l, out float v); return v; }).ToList(), 1f, out var rangeY);
            return new CsvData(new PointSet(inputs, targets, LearningTask.Regression), columns, ranges, means, rangeY);
        }
        if (distinct.Count < 2)
            throw new ApiException(400, $"the {labelName} column holds one class only ({Quote(distinct[0])}); a classifier needs at least two");
        if (distinct.Count > MaxClasses)
            throw new ApiException(400, $"the {labelName} column has {distinct.Count} distinct classes; the playground takes at most {MaxClasses} (a numeric column of other values is read as a regression target)");
        // Numbers in numeric order, names in ordinal order: the same file always gives the same class indices.
        distinct.Sort((p, q) => allNumbers
            ? float.Parse(p, CultureInfo.InvariantCulture).CompareTo(float.Parse(q, CultureInfo.InvariantCulture))
            : string.CompareOrdinal(p, q));
        var learningTask = LearningTask.Classes(distinct);
        var index = distinct.Select((name, n) => (name, n)).ToDictionary(e => e.name, e => e.n, StringComparer.Ordinal);
        // Two classes train as the reference page's ±1 labels; more as indices 0..K−1.
        var label = labels.Select(l => learningTask.Kind == "binary" ? index[l] == 0 ? -1f : 1f : index[l]).ToArray();
        return new CsvData(new PointSet(inputs, label, learningTask), columns, ranges, means, null);
    }

    private static bool TryNumber(string s, out float value) =>
        float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && float.IsFinite(value);

    private static string Quote(string s) => "\"" + (s.Length > 30 ? s[..30] + "…" : s) + "\"";

    /// <summary>The values mapped linearly from [min, max] onto [−half, half] (a constant column onto 0).</summary>
    private static float[] Scale(List<float> values, float half, out (float Min, float Max) range)
    {
        float min = values.Min(), max = values.Max();
        range = (min, max);
        float span = max - min;
        return values.Select(v => span == 0 ? 0f : ((v - min) / span * 2 - 1) * half).ToArray();
    }
}
