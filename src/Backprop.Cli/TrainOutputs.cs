using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Cli;

/// <summary>
/// Where <c>backprop train</c> writes (<c>--save</c>, <c>--report</c>, <c>--checkpoint</c>), checked before the work
/// that a late failure would lose: the paths before any data is loaded, the disk's room once the model's size is
/// known, before the first epoch. A checkpoint folder that holds a run is never overwritten without
/// <c>--resume</c> or <c>--overwrite</c>.
/// </summary>
internal static class TrainOutputs
{
    /// <summary>The checks that need only the command line: run them before loading data.</summary>
    public static void CheckBeforeData(CommandLine cl)
    {
        var checkpoint = cl.String("checkpoint");
        bool resume = cl.Has("resume"), overwrite = cl.Has("overwrite");
        if (overwrite && checkpoint is null)
            throw new UsageException("--overwrite goes with --checkpoint DIR: it lets a new run replace the checkpoint in DIR.");
        if (overwrite && resume)
            throw new UsageException("give --resume (continue the run in --checkpoint DIR) or --overwrite (replace it with a new run), not both.");

        if (cl.String("save") is { } save) OutputPaths.CheckFile("--save", save);
        else OutputPaths.CheckWritableFolder("the model file (no --save: the current folder)", ".");
        if (cl.String("report") is { } report) OutputPaths.CheckFolder("--report", report, "index.html");
        if (checkpoint is null) return;
        OutputPaths.CheckFolder("--checkpoint", checkpoint, Checkpoint.FileName);
        if (!resume && !overwrite && File.Exists(Checkpoint.PathIn(checkpoint)))
            throw new RefusedException($"--checkpoint '{checkpoint}' already holds a run ({Checkpoint.PathIn(checkpoint)}); add --resume to continue it, or --overwrite to start a new run that replaces it.");
    }

    /// <summary>
    /// Once the model and optimizer exist, before the first epoch: the model file's name (the default one included)
    /// and room on the disk for it and for a checkpoint.
    /// </summary>
    public static void CheckBeforeTraining(CommandLine cl, string savePath, Module model, Optimizer optimizer, bool earlyStopping, int epochs, int features)
    {
        long modelValues = model.NamedParameters().Concat(model.NamedBuffers()).Sum(t => (long)t.Item2.Size);
        // The header: architecture, feature and class names, input means and deviations, as JSON.
        long header = 16 * 1024 + 64L * features;
        OutputPaths.CheckFile("--save", savePath);
        OutputPaths.CheckRoom("--save", savePath, OutputPaths.SafeTensorsBytes(modelValues, header), "the model file");
        if (cl.String("checkpoint") is not { } dir) return;
        // model + optimizer state + early stopping's best weights; the history grows by an epoch line per epoch.
        long values = modelValues + optimizer.NamedState().Sum(s => (long)s.State.Size) + (earlyStopping ? model.ParameterCount() : 0);
        OutputPaths.CheckRoom("--checkpoint", Checkpoint.PathIn(dir), OutputPaths.SafeTensorsBytes(values, header + 512L * epochs), "a checkpoint");
    }
}
