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

    /// <summary>A metric for display: 4 decimals, or "–" when missing or not finite.</summary>
    public static string Metric(double? v) =>
        v is { } x && double.IsFinite(x) ? x.ToString("0.0000", CultureInfo.InvariantCulture) : "–";
}
