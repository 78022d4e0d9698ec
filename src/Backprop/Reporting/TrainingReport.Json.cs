using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Backprop.Reporting;

public sealed partial class TrainingReport
{
    /// <summary>
    /// The report's numbers as JSON: config, test metrics, history (per epoch), and either classes, confusion matrix
    /// (rows true, columns predicted), per-class accuracy and misclassified rows, or per-target regression metrics.
    /// Non-finite numbers (a diverged loss) are written as null.
    /// </summary>
    public string ToJson()
    {
        var config = new JsonObject();
        foreach (var (key, value) in Config) config[key] = value;
        var root = new JsonObject
        {
            ["title"] = Title,
            ["dataset"] = Test.Name,
            ["config"] = config,
            ["test"] = new JsonObject
            {
                ["count"] = Test.Count,
                ["loss"] = Number(Evaluation?.Loss),
                ["accuracy"] = Number(Confusion?.Accuracy),
                ["correct"] = Confusion?.Correct,
            },
            ["history"] = History is null ? null : new JsonArray([.. History.Epochs.Select(e => (JsonNode)new JsonObject
            {
                ["epoch"] = e.Epoch,
                ["loss"] = Number(e.Loss),
                ["accuracy"] = Number(e.Accuracy),
                [History.ValidationIsTest ? "test_loss" : "val_loss"] = Number(e.ValidationLoss),
                [History.ValidationIsTest ? "test_accuracy" : "val_accuracy"] = Number(e.ValidationAccuracy),
                ["seconds"] = Number(e.Seconds),
                ["learning_rate"] = Number(double.Parse(e.LearningRate.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)),
            })]),
        };
        if (Confusion is { } cm)
        {
            root["classes"] = new JsonArray([.. Test.ClassNames!.Select(n => (JsonNode)JsonValue.Create(n))]);
            root["confusion_matrix"] = new JsonArray([.. cm.ToRows().Select(r => (JsonNode)new JsonArray([.. r.Select(c => (JsonNode)c)]))]);
            root["per_class_accuracy"] = new JsonArray([.. Enumerable.Range(0, cm.NumClasses).Select(c => Number(cm.ClassAccuracy(c)))]);
            root["misclassified"] = new JsonArray([.. Misclassified.Select(m => (JsonNode)new JsonObject
            {
                ["row"] = m.Index,
                ["true"] = Test.ClassNames![m.Actual],
                ["predicted"] = Test.ClassNames![m.Predicted],
                ["p"] = Number(m.Probability),
            })]);
        }
        if (Regression is { } metrics)
            root["regression"] = new JsonArray([.. metrics.Select(m => (JsonNode)new JsonObject
            {
                ["target"] = m.Target,
                ["mse"] = Number(m.MeanSquaredError),
                ["rmse"] = Number(m.RootMeanSquaredError),
                ["mae"] = Number(m.MeanAbsoluteError),
                ["r2"] = Number(m.R2),
            })]);
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    private static JsonNode? Number(double? v) => v is { } x && double.IsFinite(x) ? JsonValue.Create(x) : null;
}
