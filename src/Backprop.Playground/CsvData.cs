using System.Globalization;

namespace Backprop.Playground;

/// <summary>
/// A user's CSV as playground points: three comma-separated columns x1, x2 and a label (a class name or number) or
/// a regression target, with an optional header line. x1 and x2 are scaled linearly onto [−5, 5] and a target onto
/// [−1, 1], so the data fills the page's plane and colour scale; <see cref="Columns"/> and the ranges say what the
/// scaled axes were.
/// </summary>
internal sealed record CsvData(PointSet Points, string[] Columns, (float Min, float Max) X1Range, (float Min, float Max) X2Range,
    (float Min, float Max)? TargetRange)
{
    /// <summary>The most classes a CSV may have (colours the page can tell apart).</summary>
    public const int MaxClasses = 8;
    /// <summary>The most bad lines one reply lists.</summary>
    private const int MaxListed = 5;
    /// <summary>Scaled x1 and x2 span [−HalfSpan, HalfSpan].</summary>
    private const float HalfSpan = 5f;

    /// <summary>The tasks an upload may ask for: auto, classes, regression.</summary>
    public static readonly string[] Tasks = ["auto", "classes", "regression"];

    /// <summary>
    /// Reads <paramref name="text"/>. With <paramref name="task"/> auto, a label column of whole numbers with at most
    /// <see cref="MaxClasses"/> distinct values, or of any text that is not all numbers, is classes; other numbers
    /// are a regression target.
    /// </summary>
    /// <exception cref="ApiException">400 listing the bad lines by number (at most five), or saying what is wrong with
    /// the whole file; 413 for more than <paramref name="maxRows"/> rows.</exception>
    public static CsvData Parse(string text, string task, int maxRows)
    {
        var lines = text.Split('\n');
        var x1 = new List<float>();
        var x2 = new List<float>();
        var labels = new List<string>();
        var errors = new List<string>();
        int badLines = 0;
        string[] columns = ["x1", "x2", "label"];
        bool first = true;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Trim().Length == 0) continue;
            var fields = line.Split(',').Select(f => f.Trim().Trim('"').Trim()).ToArray();
            if (first)
            {
                first = false;
                // A header: the first line, when its x1 or x2 field is not a number.
                if (fields.Length == 3 && (!TryNumber(fields[0], out _) || !TryNumber(fields[1], out _)))
                {
                    columns = fields;
                    continue;
                }
            }
            string? error = null;
            if (fields.Length != 3)
                error = $"expected 3 comma-separated values ({columns[0]}, {columns[1]}, {columns[2]}) but got {fields.Length}";
            else if (!TryNumber(fields[0], out float a))
                error = $"{columns[0]} must be a number but got {Quote(fields[0])}";
            else if (!TryNumber(fields[1], out float b))
                error = $"{columns[1]} must be a number but got {Quote(fields[1])}";
            else if (fields[2].Length == 0)
                error = $"{columns[2]} is empty";
            else if (task == "regression" && !TryNumber(fields[2], out _))
                error = $"{columns[2]} must be a number (the regression target) but got {Quote(fields[2])}";
            else
            {
                x1.Add(a);
                x2.Add(b);
                labels.Add(fields[2]);
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
        if (labels.Count > maxRows)
            throw new ApiException(413, $"the CSV may have at most {maxRows} rows but has {labels.Count}");
        if (labels.Count < 4)
            throw new ApiException(400, $"the CSV needs at least 4 rows of {columns[0]}, {columns[1]}, {columns[2]} (some to train on, some to test) but has {labels.Count}");

        var scaledX1 = Scale(x1, HalfSpan, out var range1);
        var scaledX2 = Scale(x2, HalfSpan, out var range2);
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
            return new CsvData(new PointSet(scaledX1, scaledX2, targets, LearningTask.Regression), columns, range1, range2, rangeY);
        }
        if (distinct.Count < 2)
            throw new ApiException(400, $"the {columns[2]} column holds one class only ({Quote(distinct[0])}); a classifier needs at least two");
        if (distinct.Count > MaxClasses)
            throw new ApiException(400, $"the {columns[2]} column has {distinct.Count} distinct classes; the playground takes at most {MaxClasses} (a numeric column of other values is read as a regression target)");
        // Numbers in numeric order, names in ordinal order: the same file always gives the same class indices.
        distinct.Sort((p, q) => allNumbers
            ? float.Parse(p, CultureInfo.InvariantCulture).CompareTo(float.Parse(q, CultureInfo.InvariantCulture))
            : string.CompareOrdinal(p, q));
        var learningTask = LearningTask.Classes(distinct);
        var index = distinct.Select((name, k) => (name, k)).ToDictionary(e => e.name, e => e.k, StringComparer.Ordinal);
        // Two classes train as the reference page's ±1 labels; more as indices 0..K−1.
        var label = labels.Select(l => learningTask.Kind == "binary" ? index[l] == 0 ? -1f : 1f : index[l]).ToArray();
        return new CsvData(new PointSet(scaledX1, scaledX2, label, learningTask), columns, range1, range2, null);
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
