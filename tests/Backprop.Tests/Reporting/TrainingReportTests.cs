using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Backprop.Data;
using Backprop.Reporting;
using Backprop.Training;

namespace Backprop.Tests.Reporting;

public sealed partial class TrainingReportTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-report-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    // Five rows, three classes; one class name needs escaping (it could come from a CSV file).
    // true:      0    1    1    2    2
    // predicted: 0    0    1    2    1      → confusion [[1,0,0],[1,1,0],[0,1,1]], 3 of 5 correct
    private static readonly string[] Classes = ["cat", "dog <&>", "bird \"x\""];

    private static Dataset Data(params int[] sampleShape)
    {
        var features = Tensor.FromArray([.. Enumerable.Range(0, 20).Select(i => (float)i)], 5, 4);
        var data = new Dataset(features, Tensor.FromArray([0f, 1, 1, 2, 2], 5), ["a", "b", "c", "d"], Classes, "pets");
        return sampleShape.Length > 0 ? data.WithSampleShape(sampleShape) : data;
    }

    private static readonly Tensor Probabilities = Tensor.FromArray(
    [
        0.7f, 0.2f, 0.1f,
        0.6f, 0.3f, 0.1f,   // dog called cat, p = 0.6
        0.1f, 0.8f, 0.1f,
        0.2f, 0.2f, 0.6f,
        0.1f, 0.83f, 0.07f, // bird called dog, p = 0.83
    ], 5, 3);

    private static History TwoEpochs(double secondLoss = 0.5, bool classification = true)
    {
        var h = new History();
        h.Add(new EpochMetrics(1, 1.0, classification ? 0.4 : null, 0.9, classification ? 0.5 : null, 0.1, 0.01f, 100));
        h.Add(new EpochMetrics(2, secondLoss, classification ? 0.6 : null, 0.7, classification ? 0.6 : null, 0.1, 0.01f, 100));
        return h;
    }

    private static IEnumerable<XElement> InlineSvgs(string html) =>
        SvgBlock().Matches(html).Select(m => XElement.Parse(m.Value));

    [GeneratedRegex("<svg[\\s\\S]*?</svg>")]
    private static partial Regex SvgBlock();

    [Fact]
    public void ComputesConfusionAndMistakesMostConfidentFirst()
    {
        var report = new TrainingReport(Data(), Probabilities);
        Assert.Equal([[1, 0, 0], [1, 1, 0], [0, 1, 1]], report.Confusion!.ToRows());
        Assert.Equal([0, 0, 1, 2, 1], report.PredictedClasses!);
        Assert.Equal(
            [new Misclassification(4, 2, 1, 0.83f), new Misclassification(1, 1, 0, 0.6f)],
            report.Misclassified);
        Assert.Equal([new Misclassification(4, 2, 1, 0.83f)], new TrainingReport(Data(), Probabilities) { MaxMisclassified = 1 }.Misclassified);
    }

    [Fact]
    public void HtmlHoldsTheCountsEscapedNamesAndParsableSvg()
    {
        var html = new TrainingReport(Data(), Probabilities) { History = TwoEpochs(), Config = [new("model", "mlp <16>")] }.ToHtml();

        // Confusion cells: the count as text, the row share in the tooltip; names escaped everywhere.
        Assert.Contains("title=\"true dog &lt;&amp;&gt;, predicted cat: 1 (50% of the row)\">1</td>", html);
        Assert.Contains("title=\"true bird &quot;x&quot;, predicted bird &quot;x&quot;: 1 (50% of the row)\">1</td>", html);
        Assert.Contains("<td class=\"total\">2</td>", html);
        Assert.DoesNotContain("dog <&>", html);
        Assert.DoesNotContain("bird \"x\"", html);
        Assert.Contains("<td>mlp &lt;16&gt;</td>", html);
        Assert.Contains("<div class=\"v\">0.6000</div><div class=\"n\">3 / 5 correct</div>", html);

        // Tabular data: misclassified rows with their features, the most confident mistake first.
        Assert.Contains("<tr><td>4</td><td>16</td><td>17</td><td>18</td><td>19</td><td class=\"bad\">dog &lt;&amp;&gt;</td><td>bird &quot;x&quot;</td><td>0.83</td></tr>", html);
        Assert.True(html.IndexOf("<tr><td>4</td>", StringComparison.Ordinal) < html.IndexOf("<tr><td>1</td>", StringComparison.Ordinal));

        // Loss chart, accuracy chart, per-class bars: each a well-formed SVG document.
        var svgs = InlineSvgs(html).ToList();
        Assert.Equal(3, svgs.Count);
        Assert.Equal(["Loss per epoch", "Accuracy per epoch", "Accuracy by true class"], svgs.Select(s => (string?)s.Attribute("aria-label")));
        Assert.Equal(["1.000", "0.500", "0.500"], svgs[2].Descendants("text").Select(t => t.Value).Where(v => v.Length == 5 && v[1] == '.'));

        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("<link", html);
    }

    [Fact]
    public void ImageDataGetsAGridOfPngsWithCaptions()
    {
        var html = new TrainingReport(Data(1, 2, 2), Probabilities).ToHtml();
        Assert.Equal(2, Regex.Matches(html, "src=\"data:image/png;base64,").Count);
        Assert.Contains("<figcaption><b>pred <span class=\"nm\">dog &lt;&amp;&gt;</span></b> / true <span class=\"nm\">bird &quot;x&quot;</span> (p=0.83)", html);
        Assert.Contains("width=\"84\" height=\"84\"", html);   // 2×2 pixels shown 42× larger
        Assert.DoesNotContain("<table class=\"rows\">", html);

        // The first image is row 4 (features 16..19 of a 0..19 range → bytes 215, 228, 242, 255), decoded back.
        var uri = Regex.Match(html, "data:image/png;base64,([A-Za-z0-9+/=]+)").Groups[1].Value;
        var png = Convert.FromBase64String(uri);
        Assert.Equal(PngImage.Encode([215, 228, 242, 255], 2, 2, 1), png);
    }

    [Fact]
    public void WithoutHistoryTheCurvesAreExplained()
    {
        var html = new TrainingReport(Data(), Probabilities).ToHtml();
        Assert.Contains("No training history", html);
        Assert.Single(InlineSvgs(html));  // only the per-class bars
    }

    [Fact]
    public void RegressionGetsAMetricsTableInsteadOfClassSections()
    {
        var data = new Dataset(Tensor.FromArray([1f, 2, 3, 4], 4, 1), Tensor.FromArray([1f, 2, 3, 4], 4, 1), name: "line");
        var report = new TrainingReport(data, Tensor.FromArray([1f, 2, 3, 5], 4, 1)) { TargetNames = ["y"], History = TwoEpochs(classification: false) };
        var html = report.ToHtml();
        Assert.Null(report.Confusion);
        Assert.Contains("<tr><td>y</td><td>0.2500</td><td>0.5000</td><td>0.2500</td><td>0.8000</td></tr>", html);
        Assert.DoesNotContain("Confusion matrix", html);
        Assert.DoesNotContain("Misclassified", html);
        Assert.Single(InlineSvgs(html));  // loss only: regression has no accuracy
        using var json = JsonDocument.Parse(report.ToJson());
        Assert.Equal(0.8, json.RootElement.GetProperty("regression")[0].GetProperty("r2").GetDouble(), 12);
    }

    [Fact]
    public void JsonHoldsTheNumbersAndNullForNonFinite()
    {
        var report = new TrainingReport(Data(), Probabilities)
        {
            History = TwoEpochs(secondLoss: double.NaN),
            Evaluation = new Evaluation(0.75, 0.6, 5),
        };
        using var json = JsonDocument.Parse(report.ToJson());
        var root = json.RootElement;
        Assert.Equal("[[1,0,0],[1,1,0],[0,1,1]]", root.GetProperty("confusion_matrix").GetRawText().Replace(" ", "").Replace("\n", "").Replace("\r", ""));
        Assert.Equal([1.0, 0.5, 0.5], root.GetProperty("per_class_accuracy").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(Classes, root.GetProperty("classes").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(0.6, root.GetProperty("test").GetProperty("accuracy").GetDouble());
        Assert.Equal(0.75, root.GetProperty("test").GetProperty("loss").GetDouble());
        var history = root.GetProperty("history");
        Assert.Equal(2, history.GetArrayLength());
        Assert.Equal(JsonValueKind.Null, history[1].GetProperty("loss").ValueKind);
        Assert.Equal(0.01, history[1].GetProperty("learning_rate").GetDouble());
        var first = root.GetProperty("misclassified")[0];
        Assert.Equal((4, "bird \"x\"", "dog <&>"), (first.GetProperty("row").GetInt32(), first.GetProperty("true").GetString(), first.GetProperty("predicted").GetString()));
    }

    [Fact]
    public void WriteReplacesAnEarlierReportAndLeavesNoTemporaryFiles()
    {
        var target = Path.Combine(dir, "out");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "index.html"), "old");
        var path = new TrainingReport(Data(), Probabilities).Write(target);
        Assert.Equal(Path.Combine(target, "index.html"), path);
        Assert.StartsWith("<!DOCTYPE html>", File.ReadAllText(path));
        Assert.Equal(["index.html", "report.json"], Directory.GetFiles(target).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void PredictionsOfTheWrongShapeAreRejected()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => new TrainingReport(Data(), Tensor.Zeros(5, 2)));
        Assert.Contains("expected predictions [5,3] for the 5 examples of 'pets' (one probability per class) but got [5,2].", e.Message);
    }

    [Fact]
    public void LineChartPlacesPointsAndBreaksAtGaps()
    {
        // x 1..2 spans the plot's 466 px from x = 64; y 0..1 spans 226 px upward from y = 270.
        var svg = XElement.Parse(SvgLineChart.Render("t", "epoch", "loss", [1, 2], [new ChartSeries("train", [1.0, 0.0], "#000")]));
        Assert.Equal("M64 44 L530 270", svg.Elements("path").Single().Attribute("d")!.Value);
        Assert.Equal(["0.0", "0.2", "0.4", "0.6", "0.8", "1.0", "1", "2"], svg.Elements("text").Where(t => (string?)t.Attribute("class") == "tick").Select(t => t.Value));

        var gap = XElement.Parse(SvgLineChart.Render("t", "epoch", "loss", [1, 2, 3], [new ChartSeries("train", [1.0, double.NaN, 0.0], "#000")]));
        Assert.Equal("M64 44 M530 270", gap.Elements("path").Single().Attribute("d")!.Value);
        Assert.Equal("", SvgLineChart.Render("t", "epoch", "loss", [1], [new ChartSeries("train", [double.PositiveInfinity], "#000")]));
    }
}
