using Backprop.Data;
using Backprop.IO;
using Backprop.Training;

namespace Backprop.Reporting;

/// <summary>
/// What one run of a model on its test set looked like, written as a self-contained HTML page (inline CSS, SVG and
/// data: PNG images; nothing fetched) and a JSON file of the same numbers: per-epoch loss and accuracy curves, the
/// confusion matrix, per-class accuracy and the misclassified test examples, or a metrics table for regression.
/// </summary>
/// <example>
/// <code>
/// var outputs = model.Predict(test.Features);
/// var report = new TrainingReport(test, ClassProbabilities.FromOutputs(outputs, loss))
///     { History = history, Evaluation = model.Evaluate(test, loss), Config = [new("model", model.ToString())] };
/// report.Write("report");   // report/index.html, report/report.json
/// </code>
/// </example>
public sealed partial class TrainingReport
{
    private readonly int[]? predicted;

    /// <summary>Builds the report's numbers.</summary>
    /// <param name="test">
    /// The test examples as they should be shown (raw, not standardized, features), with their targets, class names and
    /// <see cref="Dataset.SampleShape"/> (images are drawn for [1, H, W], [3, H, W] and [H, W]; rows are listed otherwise).
    /// </param>
    /// <param name="predictions">
    /// For classification, probabilities (or scores) [N, C], one row per test example (see
    /// <see cref="ClassProbabilities.FromOutputs"/>); the predicted class is each row's argmax. For regression, the
    /// predicted values [N, K] in the targets' shape.
    /// </param>
    public TrainingReport(Dataset test, Tensor predictions)
    {
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(predictions);
        int expectedColumns = test.IsClassification ? test.NumClasses : test.Targets.Shape[1];
        if (predictions.Rank != 2 || predictions.dims[0] != test.Count || predictions.dims[1] != expectedColumns)
            throw new ShapeMismatchException(
                $"TrainingReport: expected predictions {Shapes.Format([test.Count, expectedColumns])} for the {test.Count} examples of '{test.Name}' " +
                $"({(test.IsClassification ? "one probability per class" : "one value per target")}) but got {Shapes.Format(predictions.dims)}.");
        Test = test;
        Predictions = predictions;
        if (test.IsClassification)
        {
            predicted = RowArgMax(predictions.data, test.NumClasses);
            var actual = new int[test.Count];
            for (int i = 0; i < actual.Length; i++) actual[i] = (int)test.Targets.data[i];
            Confusion = new ConfusionMatrix(actual, predicted, test.NumClasses);
        }
    }

    /// <summary>The test examples, as given.</summary>
    public Dataset Test { get; }

    /// <summary>The predictions, as given: [N, C] probabilities or [N, K] values.</summary>
    public Tensor Predictions { get; }

    /// <summary>The page's heading.</summary>
    public string Title { get; init; } = "Training report";

    /// <summary>Per-epoch metrics; null when the model was not trained in this run (the curves are then left out).</summary>
    public History? History { get; init; }

    /// <summary>The test loss and accuracy as the trainer measured them; null hides the loss in the header.</summary>
    public Evaluation? Evaluation { get; init; }

    /// <summary>Lines of run configuration shown in the header (model, optimizer, seed, time, ...), in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Config { get; init; } = [];

    /// <summary>How many misclassified examples to show (the most confident mistakes first). Default 36.</summary>
    public int MaxMisclassified { get; init; } = 36;

    /// <summary>Counts of (true, predicted) classes on the test set; null for regression.</summary>
    public ConfusionMatrix? Confusion { get; }

    /// <summary>Names of the regression targets, for the metrics table; null gives "target" or "target k".</summary>
    public IReadOnlyList<string>? TargetNames { get; init; }

    /// <summary>MSE, MAE and R² per target column; null for classification.</summary>
    public IReadOnlyList<RegressionMetrics>? Regression => Test.IsClassification ? null
        : RegressionMetrics.Compute(Predictions.data, Test.Targets.data, Predictions.dims[1], TargetNames);

    /// <summary>The predicted class of each test example (argmax of its row); null for regression.</summary>
    public IReadOnlyList<int>? PredictedClasses => predicted;

    /// <summary>
    /// The wrongly classified examples, most confident first (ties by row), at most <see cref="MaxMisclassified"/>;
    /// empty for regression.
    /// </summary>
    public IReadOnlyList<Misclassification> Misclassified
    {
        get
        {
            if (predicted is null) return [];
            int c = Test.NumClasses;
            var wrong = new List<Misclassification>();
            for (int i = 0; i < predicted.Length; i++)
            {
                int actual = (int)Test.Targets.data[i];
                if (predicted[i] != actual) wrong.Add(new Misclassification(i, actual, predicted[i], Predictions.data[i * c + predicted[i]]));
            }
            return [.. wrong.OrderByDescending(m => m.Probability).ThenBy(m => m.Index).Take(Math.Max(0, MaxMisclassified))];
        }
    }

    /// <summary>
    /// Writes <c>index.html</c> and <c>report.json</c> into <paramref name="directory"/> (created if needed) and
    /// returns the HTML file's path. Each file is written to a temporary name and then renamed over the old one, so
    /// a failure part-way leaves any earlier report whole.
    /// </summary>
    public string Write(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory.CreateDirectory(directory);
        WriteAtomically(Path.Combine(directory, "report.json"), ToJson());
        var html = Path.Combine(directory, "index.html");
        WriteAtomically(html, ToHtml());
        return html;
    }

    internal static void WriteAtomically(string path, string text)
    {
        TempFiles.RemoveStale(path);
        var temp = TempFiles.PathFor(path);
        try
        {
            File.WriteAllText(temp, text);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    // Index of the largest value in each row of a row-major [N, C] array; the first on ties and NaN
    // winning, as Tensor.ArgMax does, so the report agrees with Trainer.Evaluate.
    private static int[] RowArgMax(ReadOnlySpan<float> values, int columns)
    {
        var result = new int[values.Length / columns];
        for (int i = 0; i < result.Length; i++)
        {
            var row = values.Slice(i * columns, columns);
            int best = 0;
            for (int j = 1; j < columns; j++)
                if (row[j] > row[best] || (float.IsNaN(row[j]) && !float.IsNaN(row[best]))) best = j;
            result[i] = best;
        }
        return result;
    }
}
