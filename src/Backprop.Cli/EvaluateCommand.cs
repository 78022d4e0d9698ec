using System.Text.Json.Nodes;
using Backprop.Training;

namespace Backprop.Cli;

/// <summary><c>backprop evaluate</c>: loss and accuracy of a saved model on a dataset.</summary>
internal sealed class EvaluateCommand : ICommand
{
    public string Name => "evaluate";
    public string Summary => "measure a saved model's loss and accuracy on a dataset";
    public string Usage =>
        "usage: backprop evaluate --model FILE [--dataset NAME | --data FILE.csv --target COLUMN] [--report DIR] [--json]\n\n" +
        "  --model FILE         a model saved by 'backprop train'\n" + DataOptions.Help +
        "                       (default: the built-in dataset the model was trained on)\n" +
        ReportOption.Help + "  --json               print one JSON object\n";

    public int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var cl = new CommandLine(args, [.. DataOptions.ValueOptions, "model", "seed", "report"], ["json"]);
        if (cl.Positionals.Count > 0) throw new UsageException($"unexpected argument '{cl.Positionals[0]}'.");
        if (cl.String("report") is { } report) OutputPaths.CheckFolder("--report", report, "index.html");
        var saved = SavedModel.Load(cl);
        if (AutoencoderTrain.IsReconstructionModel(saved.Info)) return AutoencoderTrain.Evaluate(cl, saved, stdout, stderr);
        var data = DataOptions.Load(cl, cl.Int("seed", 1), saved.BuiltInDataset);
        // Labels map by name: data holding some of the model's classes (a few new rows, one class) is scored as it is.
        if (saved.Info.ClassNames is { } classes && data.ClassNames is { } dataClasses && !classes.SequenceEqual(dataClasses))
        {
            var unknown = dataClasses.Where(c => !classes.Contains(c)).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException($"the data has class{(unknown.Count == 1 ? "" : "es")} {string.Join(", ", unknown.Select(c => $"'{c}'"))} that the model never saw; its classes are {string.Join(", ", classes)}.");
            data = data.WithClasses(classes);
        }
        var prepared = saved.PrepareData(data);
        var evaluation = saved.Model.Evaluate(prepared, saved.Loss);
        var scores = data.IsClassification ? null : RegressionScores.Of(saved.Model, prepared.Features, data.Targets, saved.ToTargetUnits);
        if (cl.Has("json"))
        {
            var result = new JsonObject { ["rows"] = evaluation.Count, ["loss"] = evaluation.Loss, ["accuracy"] = evaluation.Accuracy };
            RegressionScores.AddTo(result, scores, "");
            stdout.WriteLine(Json.Write(result));
        }
        else
            stdout.WriteLine($"{data.Name}: {evaluation.Count} rows  loss {TrainCommand.F(evaluation.Loss)}" +
                (evaluation.Accuracy is { } a ? $"  accuracy {TrainCommand.F(a)}" : "") + (scores is null ? "" : RegressionScores.Line(scores)));
        ReportOption.WriteIfAsked(cl, cl.Has("json") ? stderr : stdout, "Evaluation report", saved.Model, saved.Loss, data, prepared,
            evaluation, history: null, [new("model", $"{saved.Path}: {saved.Model}"), new("dataset", data.ToString())], saved.ToTargetUnits);
        return 0;
    }
}
