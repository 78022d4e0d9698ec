using System.Globalization;
using Backprop.Data;
using Backprop.Nn;
using Backprop.Reporting;
using Backprop.Training;

namespace Backprop.Cli;

/// <summary><c>--report DIR</c> of train and evaluate: an HTML page and report.json about the model on its test data.</summary>
internal static class ReportOption
{
    public const string Help = "  --report DIR         write DIR/index.html (loss/accuracy curves, confusion matrix, mistakes) and DIR/report.json\n";

    /// <summary>
    /// Writes the report when <c>--report DIR</c> was given. <paramref name="shown"/> holds the test rows as the user
    /// knows them (raw features, drawn as images or listed); <paramref name="modelInput"/> the same rows as the model
    /// takes them (standardized when it was trained so); <paramref name="toTargetUnits"/> maps a regression model's
    /// outputs back to the target's units when it was trained on standardized targets.
    /// </summary>
    public static void WriteIfAsked(CommandLine cl, TextWriter log, string title, Module model, ILoss loss, Dataset shown,
        Dataset modelInput, Evaluation evaluation, History? history, IReadOnlyList<KeyValuePair<string, string>> config,
        Func<Tensor, Tensor>? toTargetUnits = null)
    {
        if (cl.String("report") is not { } dir) return;
        var outputs = model.Predict(modelInput.Features);
        var predictions = shown.IsClassification ? ClassProbabilities.FromOutputs(outputs, loss) : toTargetUnits?.Invoke(outputs) ?? outputs;
        var report = new TrainingReport(shown, predictions)
        {
            Title = title,
            History = history,
            Evaluation = evaluation,
            TargetNames = shown.IsClassification || cl.String("target") is not { } target ? null : [target],
            Config = [.. config, new("written", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture))],
        };
        log.WriteLine($"report  {report.Write(dir)}");
    }
}
