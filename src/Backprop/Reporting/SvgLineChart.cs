using System.Text;
using static Backprop.Reporting.Html;

namespace Backprop.Reporting;

/// <summary>One line of a chart: a value per x position; null or non-finite values leave a gap.</summary>
/// <param name="Name">The legend text.</param>
/// <param name="Values">One value per x position.</param>
/// <param name="Color">A CSS colour.</param>
/// <param name="Dashed">Draws a dashed line (validation curves), so the chart also reads in grayscale.</param>
internal sealed record ChartSeries(string Name, IReadOnlyList<double?> Values, string Color, bool Dashed = false);

/// <summary>
/// A line chart as a standalone inline SVG: axes with nice ticks and grid lines, axis titles, and a legend above the
/// plot (never over the data).
/// </summary>
internal static class SvgLineChart
{
    private const double Width = 550, Height = 320, Left = 64, Right = 20, Top = 44, Bottom = 50;

    /// <summary>Renders the series over x = <paramref name="x"/>; returns "" when no series has a finite value.</summary>
    public static string Render(string title, string xLabel, string yLabel, IReadOnlyList<int> x, IReadOnlyList<ChartSeries> series)
    {
        var finite = series.SelectMany(s => s.Values).OfType<double>().Where(double.IsFinite).ToList();
        if (finite.Count == 0 || x.Count == 0) return "";
        var xs = AxisScale.Nice(x.Min(), x.Max(), maxTicks: 8, integer: true);
        var ys = AxisScale.Nice(finite.Min(), finite.Max(), maxTicks: 6);
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double Px(double v) => Left + xs.Fraction(v) * plotW;
        double Py(double v) => Top + (1 - ys.Fraction(v)) * plotH;

        var sb = new StringBuilder();
        sb.Append($"<svg class=\"chart\" width=\"{N(Width)}\" height=\"{N(Height)}\" viewBox=\"0 0 {N(Width)} {N(Height)}\" role=\"img\" aria-label=\"{Escape(title)}\">");
        sb.Append($"<text x=\"{N(Left)}\" y=\"18\" class=\"title\">{Escape(title)}</text>");

        // Grid and ticks: horizontal lines at each y tick, short marks at each x tick.
        foreach (var t in ys.Ticks)
        {
            double y = Py(t);
            sb.Append($"<line x1=\"{N(Left)}\" y1=\"{N(y)}\" x2=\"{N(Width - Right)}\" y2=\"{N(y)}\" class=\"grid\"/>");
            sb.Append($"<text x=\"{N(Left - 6)}\" y=\"{N(y + 4)}\" text-anchor=\"end\" class=\"tick\">{ys.Format(t)}</text>");
        }
        foreach (var t in xs.Ticks)
        {
            double px = Px(t);
            sb.Append($"<line x1=\"{N(px)}\" y1=\"{N(Top + plotH)}\" x2=\"{N(px)}\" y2=\"{N(Top + plotH + 5)}\" class=\"axis\"/>");
            sb.Append($"<text x=\"{N(px)}\" y=\"{N(Top + plotH + 18)}\" text-anchor=\"middle\" class=\"tick\">{xs.Format(t)}</text>");
        }
        sb.Append($"<line x1=\"{N(Left)}\" y1=\"{N(Top)}\" x2=\"{N(Left)}\" y2=\"{N(Top + plotH)}\" class=\"axis\"/>");
        sb.Append($"<line x1=\"{N(Left)}\" y1=\"{N(Top + plotH)}\" x2=\"{N(Width - Right)}\" y2=\"{N(Top + plotH)}\" class=\"axis\"/>");
        sb.Append($"<text x=\"{N(Left + plotW / 2)}\" y=\"{N(Height - 8)}\" text-anchor=\"middle\" class=\"label\">{Escape(xLabel)}</text>");
        sb.Append($"<text transform=\"translate(16 {N(Top + plotH / 2)}) rotate(-90)\" text-anchor=\"middle\" class=\"label\">{Escape(yLabel)}</text>");

        // Lines: a new subpath after each gap; dots as well when there are few points, so a 1-epoch run is visible.
        bool dots = x.Count <= 30;
        foreach (var s in series)
        {
            var path = new StringBuilder();
            bool pen = false;
            for (int i = 0; i < x.Count && i < s.Values.Count; i++)
            {
                if (s.Values[i] is not { } v || !double.IsFinite(v)) { pen = false; continue; }
                path.Append(pen ? " L" : (path.Length > 0 ? " M" : "M")).Append(N(Px(x[i]))).Append(' ').Append(N(Py(v)));
                pen = true;
                if (dots) sb.Append($"<circle cx=\"{N(Px(x[i]))}\" cy=\"{N(Py(v))}\" r=\"2.5\" fill=\"{s.Color}\"/>");
            }
            if (path.Length > 0)
                sb.Append($"<path d=\"{path}\" fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"2\"{(s.Dashed ? " stroke-dasharray=\"6 4\"" : "")}/>");
        }

        // Legend, right-aligned in the top margin: a line sample then the name, for each series.
        double lx = Width - Right;
        for (int i = series.Count - 1; i >= 0; i--)
        {
            var s = series[i];
            lx -= 8 + s.Name.Length * 7;
            sb.Append($"<text x=\"{N(lx)}\" y=\"{N(Top - 12)}\" class=\"legend\">{Escape(s.Name)}</text>");
            lx -= 30;
            sb.Append($"<line x1=\"{N(lx)}\" y1=\"{N(Top - 16)}\" x2=\"{N(lx + 24)}\" y2=\"{N(Top - 16)}\" stroke=\"{s.Color}\" stroke-width=\"2\"{(s.Dashed ? " stroke-dasharray=\"6 4\"" : "")}/>");
            lx -= 10;
        }
        sb.Append("</svg>");
        return sb.ToString();
    }
}
