using System.Globalization;
using System.Text;
using static Backprop.Reporting.Html;

namespace Backprop.Reporting;

public sealed partial class TrainingReport
{
    private const string Blue = "#2563eb", Orange = "#d97706", Red = "#dc2626";

    /// <summary>The report as one self-contained HTML page (UTF-8; inline CSS, SVG and data: images only).</summary>
    public string ToHtml()
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append($"<title>{Escape(Title)} — {Escape(Test.Name)}</title>\n<style>{Css}</style>\n</head>\n<body>\n");
        AppendHeader(sb);
        AppendCurves(sb);
        if (Confusion is not null)
        {
            AppendConfusion(sb, Confusion);
            AppendClassAccuracy(sb, Confusion);
            AppendMisclassified(sb);
        }
        else AppendRegression(sb);
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    private void AppendHeader(StringBuilder sb)
    {
        sb.Append($"<header>\n<h1>{Escape(Title)}</h1>\n<p class=\"sub\">test set {Escape(Test.ToString())}</p>\n<div class=\"cards\">");
        if (Evaluation is { } e) Card(sb, "test loss", Metric(e.Loss));
        if (Confusion is { } cm)
            Card(sb, "test accuracy", $"{Metric(cm.Accuracy)}", $"{cm.Correct} / {cm.Total} correct");
        if (Regression is { } r)
            foreach (var m in r) Card(sb, $"RMSE {m.Target}", Metric(m.RootMeanSquaredError), $"R² {Metric(m.R2)}");
        if (History is { Epochs.Count: > 0 } h)
            Card(sb, "epochs", h.Epochs.Count.ToString(CultureInfo.InvariantCulture),
                h.StoppedEarly ? $"stopped early; weights of epoch {h.BestEpoch}" : $"{h.TotalSeconds:0.0} s of training");
        sb.Append("</div>\n");
        ConfigTable(sb, Config);
        sb.Append("</header>\n");
    }

    private void AppendCurves(StringBuilder sb)
    {
        sb.Append("<section>\n<h2>Training curves</h2>\n");
        if (History is not { Epochs.Count: > 0 } h)
        {
            sb.Append("<p class=\"muted\">No training history: this report describes a saved model evaluated on its own, " +
                      "so there are no per-epoch curves. Train with <code>backprop train --report DIR</code> to see them.</p>\n</section>\n");
            return;
        }
        var x = h.Epochs.Select(e => e.Epoch).ToList();
        var loss = new List<ChartSeries> { new("train", [.. h.Epochs.Select(e => (double?)e.Loss)], Blue) };
        string heldOut = h.ValidationIsTest ? "test" : "validation";
        if (h.Epochs.Any(e => e.ValidationLoss is not null))
            loss.Add(new(heldOut, [.. h.Epochs.Select(e => e.ValidationLoss)], Orange, Dashed: true));
        sb.Append("<div class=\"row\">");
        sb.Append(SvgLineChart.Render("Loss per epoch", "epoch", "loss", x, loss));
        if (h.Epochs.Any(e => e.Accuracy is not null))
        {
            var acc = new List<ChartSeries> { new("train", [.. h.Epochs.Select(e => e.Accuracy)], Blue) };
            if (h.Epochs.Any(e => e.ValidationAccuracy is not null))
                acc.Add(new(heldOut, [.. h.Epochs.Select(e => e.ValidationAccuracy)], Orange, Dashed: true));
            sb.Append(SvgLineChart.Render("Accuracy per epoch", "epoch", "accuracy", x, acc));
        }
        sb.Append("</div>\n");
        if (h.Epochs.Any(e => !double.IsFinite(e.Loss)))
            sb.Append("<p class=\"warn\">Some epochs have a non-finite training loss (the run diverged); they are gaps in the curve.</p>\n");
        sb.Append("</section>\n");
    }

    // Rows are true classes, columns predicted ones. Each cell is shaded by its share of its row (so a rare class reads
    // as clearly as a common one): blue on the diagonal (right), red off it (wrong).
    private void AppendConfusion(StringBuilder sb, ConfusionMatrix cm)
    {
        var names = Test.ClassNames!;
        sb.Append("<section>\n<h2>Confusion matrix</h2>\n<p class=\"muted\">Rows: true class. Columns: predicted class. " +
                  "Shade: share of the row; blue = correct, red = mistaken.</p>\n<div class=\"scroll\"><table class=\"cm\">\n<tr><th class=\"corner\">true \\ predicted</th>");
        foreach (var n in names) sb.Append($"<th class=\"col\">{Escape(n)}</th>");
        sb.Append("<th class=\"col total\">total</th></tr>\n");
        for (int t = 0; t < cm.NumClasses; t++)
        {
            int support = cm.Support(t);
            sb.Append($"<tr><th class=\"rowh\">{Escape(names[t])}</th>");
            for (int p = 0; p < cm.NumClasses; p++)
            {
                int count = cm[t, p];
                double share = support == 0 ? 0 : (double)count / support;
                string tip = $"true {names[t]}, predicted {names[p]}: {count} ({(share * 100).ToString("0.#", CultureInfo.InvariantCulture)}% of the row)";
                if (count == 0) { sb.Append($"<td class=\"zero\" title=\"{Escape(tip)}\">0</td>"); continue; }
                double alpha = 0.1 + 0.85 * share;
                var (r, g, b) = t == p ? (37, 99, 235) : (220, 38, 38);
                string ink = alpha > 0.6 ? "#fff" : "#111";
                sb.Append($"<td style=\"background:rgba({r},{g},{b},{N(alpha)});color:{ink}\" title=\"{Escape(tip)}\">{count}</td>");
            }
            sb.Append($"<td class=\"total\">{support}</td></tr>\n");
        }
        sb.Append("</table></div>\n</section>\n");
    }

    private void AppendClassAccuracy(StringBuilder sb, ConfusionMatrix cm)
    {
        var values = Enumerable.Range(0, cm.NumClasses).Select(cm.ClassAccuracy).ToList();
        sb.Append("<section>\n<h2>Per-class accuracy</h2>\n<p class=\"muted\">Fraction of each class's test examples classified correctly (recall).</p>\n");
        sb.Append(SvgBarChart.Render("Accuracy by true class", Test.ClassNames!, values, Blue));
        sb.Append("\n</section>\n");
    }

    private void AppendMisclassified(StringBuilder sb)
    {
        var wrong = Misclassified;
        int total = Confusion!.Total - Confusion.Correct;
        sb.Append("<section>\n<h2>Misclassified test examples</h2>\n");
        if (total == 0)
        {
            sb.Append("<p class=\"muted\">None: every test example was classified correctly.</p>\n</section>\n");
            return;
        }
        sb.Append($"<p class=\"muted\">{wrong.Count} of {total} mistakes, the most confident first; p is the probability the model gave its (wrong) choice.</p>\n");
        if (SampleImages.CanDraw(Test.SampleShape)) AppendImageGrid(sb, wrong);
        else AppendRowTable(sb, wrong);
        sb.Append("</section>\n");
    }

    private void AppendImageGrid(StringBuilder sb, IReadOnlyList<Misclassification> wrong)
    {
        var names = Test.ClassNames!;
        var images = new SampleImages(Test.Features.data, Test.SampleShape);
        sb.Append("<div class=\"grid\">\n");
        foreach (var m in wrong)
        {
            string p = m.Probability.ToString("0.00", CultureInfo.InvariantCulture);
            sb.Append($"<figure><img src=\"{images.DataUri(m.Index)}\" width=\"{images.DisplayWidth}\" height=\"{images.DisplayHeight}\" alt=\"test example {m.Index}\">" +
                      $"<figcaption><b>pred <span class=\"nm\">{Escape(names[m.Predicted])}</span></b> / true <span class=\"nm\">{Escape(names[m.Actual])}</span> (p={p})<br><span class=\"muted\">row {m.Index}</span></figcaption></figure>\n");
        }
        sb.Append("</div>\n");
    }

    // Tabular data: the misclassified rows with their (first 12) feature values.
    private void AppendRowTable(StringBuilder sb, IReadOnlyList<Misclassification> wrong)
    {
        var names = Test.ClassNames!;
        int f = Test.NumFeatures, shown = Math.Min(f, 12);
        sb.Append("<div class=\"scroll\"><table class=\"rows\">\n<tr><th>row</th>");
        for (int j = 0; j < shown; j++) sb.Append($"<th>{Escape(Test.FeatureNames[j])}</th>");
        if (shown < f) sb.Append($"<th>… {f - shown} more</th>");
        sb.Append("<th>predicted</th><th>true</th><th>p</th></tr>\n");
        foreach (var m in wrong)
        {
            sb.Append($"<tr><td>{m.Index}</td>");
            for (int j = 0; j < shown; j++)
                sb.Append($"<td>{Test.Features.data[m.Index * f + j].ToString("G5", CultureInfo.InvariantCulture)}</td>");
            if (shown < f) sb.Append("<td></td>");
            sb.Append($"<td class=\"bad\">{Escape(names[m.Predicted])}</td><td>{Escape(names[m.Actual])}</td><td>{m.Probability.ToString("0.00", CultureInfo.InvariantCulture)}</td></tr>\n");
        }
        sb.Append("</table></div>\n");
    }

    private void AppendRegression(StringBuilder sb)
    {
        sb.Append("<section>\n<h2>Regression metrics</h2>\n<table class=\"rows\">\n<tr><th>target</th><th>MSE</th><th>RMSE</th><th>MAE</th><th>R²</th></tr>\n");
        foreach (var m in Regression!)
            sb.Append($"<tr><td>{Escape(m.Target)}</td><td>{Metric(m.MeanSquaredError)}</td><td>{Metric(m.RootMeanSquaredError)}</td><td>{Metric(m.MeanAbsoluteError)}</td><td>{Metric(m.R2)}</td></tr>\n");
        sb.Append("</table>\n<p class=\"muted\">Computed on the test set's predictions; R² = 1 − Σ(ŷ − y)² / Σ(y − ȳ)².</p>\n</section>\n");
    }

    internal const string Css = """

        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #111;
               background: #f6f7f9; margin: 0 auto; padding: 24px 32px; max-width: 1240px; }
        h1 { margin: 0 0 4px; font-size: 24px; } h2 { font-size: 18px; margin: 0 0 8px; }
        section, header { background: #fff; border: 1px solid #e3e6ea; border-radius: 8px; padding: 16px 20px; margin-bottom: 16px; }
        .sub, .muted { color: #5b6470; } .warn { color: #b45309; }
        .cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
        .card { border: 1px solid #e3e6ea; border-radius: 6px; padding: 8px 14px; min-width: 140px; }
        .card .k { color: #5b6470; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
        .card .v { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; } .card .n { color: #5b6470; font-size: 12px; }
        table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
        .config th { text-align: left; color: #5b6470; font-weight: 500; padding: 2px 16px 2px 0; vertical-align: top; }
        .config td { padding: 2px 0; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; }
        .row { display: flex; flex-wrap: wrap; gap: 12px; }
        .chart { background: #fff; }
        .chart .title { font-size: 14px; font-weight: 600; fill: #111; } .chart .tick { font-size: 11px; fill: #444; }
        .chart .label { font-size: 12px; fill: #333; } .chart .legend { font-size: 12px; fill: #111; } .chart .muted { fill: #888; }
        .chart .grid { stroke: #e6e8eb; stroke-width: 1; } .chart .axis { stroke: #333; stroke-width: 1; }
        .scroll { overflow-x: auto; }
        .cm td, .cm th { border: 1px solid #e3e6ea; padding: 6px 8px; text-align: center; min-width: 44px; }
        .cm th.col { font-weight: 600; font-size: 12px; vertical-align: bottom; max-width: 96px; overflow-wrap: anywhere; }
        .cm th.rowh { text-align: right; font-weight: 600; font-size: 12px; white-space: nowrap; }
        .cm .corner { font-size: 11px; color: #5b6470; font-weight: 400; } .cm td.zero { color: #c3c8cf; }
        .cm .total { background: #f3f4f6; color: #333; font-weight: 600; }
        .rows td, .rows th { border: 1px solid #e3e6ea; padding: 4px 8px; text-align: right; }
        .rows th { background: #f3f4f6; } .rows td.bad { color: #b91c1c; font-weight: 600; }
        .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(132px, 1fr)); gap: 10px; }
        figure { margin: 0; padding: 8px; border: 1px solid #e3e6ea; border-radius: 6px; text-align: center; background: #fafafa; }
        figure img { image-rendering: pixelated; display: block; margin: 0 auto 6px; background: #000; }
        figcaption { font-size: 12px; line-height: 1.35; } figcaption b { color: #b91c1c; } .nm { white-space: nowrap; }
        code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; background: #f3f4f6; padding: 1px 4px; border-radius: 3px; }

        """;
}
