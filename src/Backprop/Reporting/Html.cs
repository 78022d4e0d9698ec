using System.Globalization;
using System.Text;

namespace Backprop.Reporting;

/// <summary>Text that is safe inside HTML and inline SVG (which is XML): only the five XML entities are used.</summary>
internal static class Html
{
    /// <summary>Escapes &amp; &lt; &gt; " ' so that any text (class names from a CSV file) stays text.</summary>
    public static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length + 8);
        foreach (char c in text)
        {
            sb.Append(c switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ when char.IsControl(c) && c is not ('\n' or '\t') => "\uFFFD",
                _ => c.ToString(),
            });
        }
        return sb.ToString();
    }

    /// <summary>A number for SVG coordinates: invariant culture, at most 2 decimals.</summary>
    public static string N(double v) => Math.Round(v, 2).ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>A headline card of a report: label, value and an optional note under it.</summary>
    public static void Card(StringBuilder sb, string label, string value, string? note = null) =>
        sb.Append($"<div class=\"card\"><div class=\"k\">{Escape(label)}</div><div class=\"v\">{Escape(value)}</div>" +
                  (note is null ? "" : $"<div class=\"n\">{Escape(note)}</div>") + "</div>");

    /// <summary>A report's run configuration as a two-column table, nothing when it is empty.</summary>
    public static void ConfigTable(StringBuilder sb, IReadOnlyList<KeyValuePair<string, string>> config)
    {
        if (config.Count == 0) return;
        sb.Append("<table class=\"config\">");
        foreach (var (key, value) in config) sb.Append($"<tr><th>{Escape(key)}</th><td>{Escape(value)}</td></tr>");
        sb.Append("</table>\n");
    }

    /// <summary>A metric for display: 4 decimals, or "–" when missing or not finite.</summary>
    public static string Metric(double? v) =>
        v is { } x && double.IsFinite(x) ? x.ToString("0.0000", CultureInfo.InvariantCulture) : "–";
}
