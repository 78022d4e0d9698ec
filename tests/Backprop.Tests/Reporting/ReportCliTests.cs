using System.Text.Json;
using Backprop.Tests.Cli;

namespace Backprop.Tests.Reporting;

/// <summary><c>--report DIR</c> on train and evaluate, run in-process as a user would.</summary>
public sealed class ReportCliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-report-cli-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void TrainAndEvaluateWriteReportsThatAgreeWithWhatTheyPrint()
    {
        var model = Path.Combine(dir, "iris.safetensors");
        var report = Path.Combine(dir, "train-report");
        var (code, stdout, _) = CliRunner.Run(["train", "--epochs", "5", "--save", model, "--report", report]);
        Assert.Equal(0, code);
        Assert.Contains($"report  {Path.Combine(report, "index.html")}", stdout);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "report.json")));
        var root = json.RootElement;
        Assert.Equal(5, root.GetProperty("history").GetArrayLength());
        Assert.Equal(["setosa", "versicolor", "virginica"], root.GetProperty("classes").EnumerateArray().Select(e => e.GetString()));
        // 30 test rows, 10 per class (stratified split); the diagonal is the accuracy train printed.
        var rows = root.GetProperty("confusion_matrix").EnumerateArray().Select(r => r.EnumerateArray().Select(c => c.GetInt32()).ToArray()).ToArray();
        Assert.Equal([10, 10, 10], rows.Select(r => r.Sum()));
        int correct = rows[0][0] + rows[1][1] + rows[2][2];
        Assert.Contains($"accuracy {correct / 30.0:0.0000} ({correct}/30)", stdout);
        var html = File.ReadAllText(Path.Combine(report, "index.html"));
        Assert.Contains("Loss per epoch", html);
        Assert.Equal(30 - correct, root.GetProperty("misclassified").GetArrayLength());
        Assert.True(correct < 30, "5 epochs should leave some mistakes to list");
        // Mistakes are listed with the raw measurements (all positive in Iris), not the standardized inputs.
        var table = html[html.IndexOf("<table class=\"rows\">", StringComparison.Ordinal)..];
        Assert.Contains("<th>sepal_length</th>", table);
        Assert.DoesNotContain("<td>-", table);

        var evalReport = Path.Combine(dir, "eval-report");
        var (evalCode, evalOut, _) = CliRunner.Run(["evaluate", "--model", model, "--report", evalReport]);
        Assert.Equal(0, evalCode);
        Assert.Contains($"report  {Path.Combine(evalReport, "index.html")}", evalOut);
        var evalHtml = File.ReadAllText(Path.Combine(evalReport, "index.html"));
        Assert.Contains("No training history", evalHtml);
        using var evalJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(evalReport, "report.json")));
        Assert.Equal(JsonValueKind.Null, evalJson.RootElement.GetProperty("history").ValueKind);
        Assert.Equal(150, evalJson.RootElement.GetProperty("test").GetProperty("count").GetInt32());
    }

    [Fact]
    public void ReportWithoutATestSetIsAUsageError()
    {
        var (code, _, stderr) = CliRunner.Run(["train", "--test-split", "0", "--epochs", "1", "--save", Path.Combine(dir, "m.safetensors"), "--report", dir]);
        Assert.Equal(2, code);
        Assert.Contains("--report needs a test set; give --test-split above 0.", stderr);
    }
}
