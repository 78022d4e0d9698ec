using Backprop.Explain;
using Backprop.Nn;

namespace Backprop.Cli;

/// <summary>
/// <c>backprop explain</c>: one forward and backward step, every matrix under the seeds' names
/// (H_in, H_out, O_in, O_out, O_error, O_delta, W2_update, H_error, H_delta, W1_update).
/// </summary>
internal sealed class ExplainCommand : ICommand
{
    public string Name => "explain";
    public string Summary => "show one forward/backward step matrix by matrix, in the seeds' names";
    public string Usage =>
        "usage: backprop explain [--json] [--decimals N] [--no-formulas]\n" +
        "       backprop explain --model FILE --data FILE.csv --target COLUMN [--rows N] [--json]\n\n" +
        "Without --model: the worked example of the lecture notes (three Iris rows, W1 4×2, W2 2×3, sigmoid, no\n" +
        "biases, E = 1/(2N)·Σ(O_out − Y)² with N the number of elements of Y). Every value comes from the autograd\n" +
        "engine: deltas are N·∂E/∂(layer input), updates are ∂E/∂W.\n\n" +
        "  --model FILE         explain a saved model (Dense layers with activations) instead\n" +
        "  --data FILE.csv      rows to explain it on; --target names the label column\n" +
        "  --dataset NAME       or a built-in dataset (default: the one the model was trained on)\n" +
        "  --rows N             how many rows form the step's batch (default 3)\n" +
        "  --decimals N         digits after the point (default 3)\n" +
        "  --no-formulas        print only the matrices, not the formula each one comes from\n" +
        "  --json               print one JSON object keyed by the matrices' names\n";

    public int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var cl = new CommandLine(args, [.. DataOptions.ValueOptions, "model", "rows", "decimals"], ["json", "no-formulas"]);
        if (cl.Positionals.Count > 0) throw new UsageException($"unexpected argument '{cl.Positionals[0]}'.");
        int decimals = cl.Int("decimals", 3, min: 0);
        StepTrace trace;
        if (cl.Has("model")) trace = TraceSavedModel(cl);
        else
        {
            if (cl.Has("data") || cl.Has("dataset") || cl.Has("rows"))
                throw new UsageException("--data, --dataset and --rows go with --model FILE.");
            trace = SeedExample.Trace();
        }
        Json.WriteLine(stdout, cl.Has("json") ? trace.ToJson() : trace.ToText(decimals, formulas: !cl.Has("no-formulas")));
        return 0;
    }

    private static StepTrace TraceSavedModel(CommandLine cl)
    {
        var saved = SavedModel.Load(cl);
        if (saved.Model is not Sequential sequential)
            throw new ArgumentException($"{saved.Path} holds a {saved.Model}, but explain needs a Sequential of Dense layers.");
        var data = DataOptions.Load(cl, seed: 1, saved.BuiltInDataset);
        int rows = Math.Min(cl.Int("rows", 3, min: 1), data.Count);
        var batch = data.Take(rows);
        var x = saved.Prepare(batch.Features);
        var y = batch.IsClassification ? Tensor.OneHot(batch.Targets, batch.NumClasses) : batch.Targets;
        return StepTrace.ForModel(sequential, x, y);
    }
}
