using System.Globalization;
using System.Text;
using Backprop.Data;
using Backprop.Reporting;
using Backprop.Training;

namespace Backprop.Cli;

/// <summary><c>backprop predict</c>: reads a CSV of features, writes a CSV of predictions.</summary>
internal sealed class PredictCommand : ICommand
{
    public string Name => "predict";
    public string Summary => "predict with a saved model: CSV of features in, CSV of predictions out";
    public string Usage =>
        "usage: backprop predict --model FILE --data FILE.csv [--output FILE.csv]\n\n" +
        "  --model FILE         a model saved by 'backprop train'\n" +
        "  --data FILE.csv      rows to predict; must have the model's feature columns (other columns are ignored)\n" +
        "  --output FILE.csv    where to write the predictions (default: standard output)\n\n" +
        "Output columns: the features, 'prediction' (the class label or value) and, for classifiers, one\n" +
        "probability column per class.\n";

    public int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var cl = new CommandLine(args, ["model", "data", "output"], []);
        if (cl.Positionals.Count > 0) throw new UsageException($"unexpected argument '{cl.Positionals[0]}'.");
        if (cl.String("output") is { } requested) OutputPaths.CheckFile("--output", requested, "predictions.csv");
        var saved = SavedModel.Load(cl);
        var file = cl.String("data") ?? throw new UsageException("--data FILE.csv is required.");
        if (saved.Info.FeatureNames.Count == 0)
            throw new ArgumentException($"{saved.Path} does not record its feature names, so the CSV columns cannot be matched.");
        var raw = CsvDataset.ReadFeatures(file, saved.Info.FeatureNames);
        var output = saved.ToTargetUnits(saved.Model.Predict(saved.Prepare(raw)));
        var csv = Format(raw, output, saved);

        var outPath = cl.String("output");
        if (outPath is null) stdout.Write(csv);
        else
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outPath))!);
            File.WriteAllText(outPath, csv);
            stderr.WriteLine($"wrote {raw.Shape[0]} predictions to {outPath}");
        }
        return 0;
    }

    private static string Format(Tensor raw, Tensor output, SavedModel saved)
    {
        var info = saved.Info;
        var sb = new StringBuilder();
        var header = info.FeatureNames.Select(Quote).ToList();
        var classes = info.ClassNames;
        if (classes is not null)
        {
            header.Add("prediction");
            header.AddRange(classes.Select(c => Quote("p_" + c)));
        }
        else if (output.Shape[1] == 1) header.Add("prediction");
        else header.AddRange(Enumerable.Range(0, output.Shape[1]).Select(i => $"prediction_{i}"));
        sb.AppendJoin(',', header).Append('\n');

        Tensor? probabilities = classes is null ? null : ClassProbabilities.FromOutputs(output, saved.Loss);
        int[]? predicted = classes is null ? null : Trainer.ToClasses(output, saved.Loss);
        int n = raw.Shape[0], f = raw.Shape[1];
        var x = raw.AsSpan();
        var y = output.AsSpan();
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < f; j++) sb.Append(Num(x[i * f + j])).Append(',');
            if (classes is not null)
            {
                sb.Append(Quote(classes[predicted![i]]));
                var p = probabilities!.AsSpan();
                for (int c = 0; c < classes.Count; c++) sb.Append(',').Append(Num(p[i * classes.Count + c]));
            }
            else for (int c = 0; c < output.Shape[1]; c++) sb.Append(c > 0 ? "," : "").Append(Num(y[i * output.Shape[1] + c]));
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static string Num(float v) => v.ToString("G6", CultureInfo.InvariantCulture);

    private static string Quote(string s) => s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
