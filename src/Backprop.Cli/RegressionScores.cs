using System.Text.Json.Nodes;
using Backprop.Nn;
using Backprop.Reporting;
using Backprop.Training;

namespace Backprop.Cli;

/// <summary>
/// RMSE, MAE and R² of a regression model in the target's own units, for the <c>test</c> line of train, the line of
/// evaluate and their JSON (the loss alone is in standardized units, which mean nothing to the user).
/// </summary>
internal static class RegressionScores
{
    /// <summary>
    /// The scores of <paramref name="model"/> on <paramref name="modelInput"/> (features as the model takes them)
    /// against <paramref name="targets"/> <c>[N, K]</c> in their own units; <paramref name="toTargetUnits"/> maps the
    /// outputs back. The mean over the K columns when there are several.
    /// </summary>
    public static RegressionMetrics Of(Module model, Tensor modelInput, Tensor targets, Func<Tensor, Tensor> toTargetUnits)
    {
        var predictions = toTargetUnits(model.Predict(modelInput));
        var columns = RegressionMetrics.Compute(predictions.AsSpan(), targets.AsSpan(), targets.Shape[1]);
        return columns.Length == 1 ? columns[0] : new RegressionMetrics($"mean of {columns.Length} targets",
            columns.Average(c => c.MeanSquaredError), columns.Average(c => c.MeanAbsoluteError), columns.Average(c => c.R2));
    }

    /// <summary><c>  rmse 53.1234  mae 42.8000  r2 0.5123</c>.</summary>
    public static string Line(RegressionMetrics m) =>
        $"  rmse {TrainCommand.F(m.RootMeanSquaredError)}  mae {TrainCommand.F(m.MeanAbsoluteError)}  r2 {TrainCommand.F(m.R2)}"
        + (m.Target.StartsWith("mean of", StringComparison.Ordinal) ? $" ({m.Target})" : "");

    /// <summary>Adds <c>{prefix}rmse</c>, <c>{prefix}mae</c> and <c>{prefix}r2</c> (null for classification).</summary>
    public static void AddTo(JsonObject json, RegressionMetrics? m, string prefix)
    {
        json[prefix + "rmse"] = m?.RootMeanSquaredError;
        json[prefix + "mae"] = m?.MeanAbsoluteError;
        json[prefix + "r2"] = m is null || double.IsNaN(m.R2) ? null : m.R2;
    }
}
