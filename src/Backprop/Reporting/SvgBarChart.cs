using System.Text;
using static Backprop.Reporting.Html;

namespace Backprop.Reporting;

/// <summary>Horizontal bars of values in [0, 1] (per-class accuracy), one labelled row per item, as inline SVG.</summary>
internal static class SvgBarChart
{
    private const double Width = 600, Row = 24, Top = 30, Bottom = 34, Right = 56;

    /// <summary>
    /// Renders one bar per label; a null value (a class absent from the data) draws no bar and says "no examples".
    /// Labels longer than 24 characters are shortened, with the full text in a tooltip.
    /// </summary>
    public static string Render(string title, IReadOnlyList<string> labels, IReadOnlyList<double?> values, string color)
    {
        double left = Math.Clamp(12 + labels.Select(l => Math.Min(l.Length, 24)).DefaultIfEmpty(1).Max() * 7.2, 60, 200);
        double plotW = Width - left - Right, height = Top + labels.Count * Row + Bottom;
        var axis = new AxisScale(0, 1, 0.2);
        var sb = new StringBuilder();
        sb.Append($"<svg class=\"chart\" width=\"{N(Width)}\" height=\"{N(height)}\" viewBox=\"0 0 {N(Width)} {N(height)}\" role=\"img\" aria-label=\"{Escape(title)}\">");
        sb.Append($"<text x=\"{N(left)}\" y=\"18\" class=\"title\">{Escape(title)}</text>");
        double bottomY = Top + labels.Count * Row;
        foreach (var t in axis.Ticks)
        {
            double x = left + t * plotW;
            sb.Append($"<line x1=\"{N(x)}\" y1=\"{N(Top)}\" x2=\"{N(x)}\" y2=\"{N(bottomY)}\" class=\"grid\"/>");
            sb.Append($"<text x=\"{N(x)}\" y=\"{N(bottomY + 16)}\" text-anchor=\"middle\" class=\"tick\">{axis.Format(t)}</text>");
        }
        for (int i = 0; i < labels.Count; i++)
        {
            double y = Top + i * Row;
            string label = labels[i].Length > 24 ? labels[i][..23] + "…" : labels[i];
            sb.Append($"<text x=\"{N(left - 8)}\" y=\"{N(y + Row / 2 + 4)}\" text-anchor=\"end\" class=\"tick\"><title>{Escape(labels[i])}</title>{Escape(label)}</text>");
            if (values[i] is { } v && double.IsFinite(v))
            {
                sb.Append($"<rect x=\"{N(left)}\" y=\"{N(y + 4)}\" width=\"{N(Math.Clamp(v, 0, 1) * plotW)}\" height=\"{N(Row - 8)}\" fill=\"{color}\"/>");
                sb.Append($"<text x=\"{N(left + Math.Clamp(v, 0, 1) * plotW + 6)}\" y=\"{N(y + Row / 2 + 4)}\" class=\"tick\">{v.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)}</text>");
            }
            else sb.Append($"<text x=\"{N(left + 6)}\" y=\"{N(y + Row / 2 + 4)}\" class=\"tick muted\">no examples</text>");
        }
        sb.Append($"<line x1=\"{N(left)}\" y1=\"{N(Top)}\" x2=\"{N(left)}\" y2=\"{N(bottomY)}\" class=\"axis\"/>");
        sb.Append("</svg>");
        return sb.ToString();
    }
}
