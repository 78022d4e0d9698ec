using System.Globalization;
using System.Text.Json.Nodes;
using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Cli;

/// <summary>
/// <c>backprop train</c>'s checks of values that parse but make no sense, and what it says when a run diverges.
/// Refused: SGD momentum outside [0, 1), a learning rate ≤ 0, a negative weight decay, a one-class target.
/// Warned about (training goes on): a learning rate above <see cref="LargeAdamRate"/> for Adam/AdamW or above
/// <see cref="LargeSgdRate"/> for SGD, a final softmax before cross_entropy or sigmoid before bce_logits, bce without a final sigmoid.
/// An explicit batch larger than the training set gets a note: it trains as one batch of every row.
/// </summary>
internal static class TrainChecks
{
    /// <summary>Adam's step is about lr per weight whatever the gradient's size, so lr 0.1 already moves a weight by 0.1 a step.</summary>
    public const float LargeAdamRate = 0.1f;

    /// <summary>SGD's step is lr × gradient; on standardized inputs a rate above 1 overshoots almost any minimum.</summary>
    public const float LargeSgdRate = 1f;

    /// <summary>Options that only one optimizer reads; given with another, the user believes they changed something.</summary>
    public static void Options(CommandLine cl)
    {
        if (cl.Has("momentum") && cl.String("optimizer", "adam") != "sgd")
            throw new UsageException($"--momentum goes with --optimizer sgd (adam and adamw keep their own momentum, β₁ = 0.9); got --optimizer {cl.String("optimizer", "adam")}.");
    }

    /// <summary>Refuses a classification target with fewer than two classes: there is nothing to tell apart.</summary>
    public static void Data(Dataset data, string? target)
    {
        if (!data.IsClassification || data.NumClasses >= 2) return;
        string column = target is null ? $"'{data.Name}'" : $"the target column '{target}'";
        throw new ArgumentException(data.NumClasses == 1
            ? $"only one class ('{data.ClassNames![0]}') in {column}; classification needs at least two (or use --task regress for a numeric target)."
            : $"no class in {column}; classification needs at least two.");
    }

    /// <summary>Notes that an explicit <c>--batch</c> above the training rows means one batch of every row (the library trains it so).</summary>
    public static void Batch(CommandLine cl, int batch, int trainRows, TextWriter warn)
    {
        if (cl.Has("batch") && batch > trainRows)
            warn.WriteLine($"note: --batch {batch} is more than the {trainRows} training rows; each epoch is one batch of all {trainRows}.");
    }

    /// <summary>Warns about settings that train, but badly: a very large learning rate, a final activation the loss applies itself.</summary>
    public static void Warn(Module model, ILoss loss, Optimizer optimizer, TextWriter warn)
    {
        float lr = optimizer.LearningRate;
        if (optimizer is Adam && lr > LargeAdamRate)
            warn.WriteLine($"warning: --lr {Show(lr)} is large for {optimizer.Name} (usual: 0.0001 to 0.01); training may diverge.");
        else if (optimizer is Sgd && lr > LargeSgdRate)
            warn.WriteLine($"warning: --lr {Show(lr)} is large for sgd (usual: 0.001 to 0.5); training may diverge.");

        var last = model;
        while (last is Sequential { Layers.Count: > 0 } seq) last = seq.Layers[^1];
        if (last is Activation { Name: "softmax" } && loss.Name == "cross_entropy")
            warn.WriteLine("warning: the model ends with softmax but cross_entropy takes logits (it applies log-softmax itself); " +
                           "remove the final softmax. Training continues, but more slowly.");
        else if (last is Activation { Name: "sigmoid" } && loss.Name == "bce_logits")
            warn.WriteLine("warning: the model ends with sigmoid but bce_logits takes logits (it applies the sigmoid itself); " +
                           "remove the final sigmoid or use --loss bce. Training continues, but more slowly.");
        else if (last is not Activation { Name: "sigmoid" } && loss.Name == "bce")
            warn.WriteLine("warning: bce takes probabilities in (0, 1) but the model does not end with sigmoid; end it with sigmoid, " +
                           "or use --loss bce_logits. Training continues, and may turn NaN.");
    }

    /// <summary>
    /// Runs <paramref name="fit"/>; a diverged run becomes one error line (exit 1) that says where it diverged and
    /// what to try. Nothing is saved: the weights the library kept are those of the last finished epoch, from a run
    /// that was heading for NaN, and a model file next to a failed run would be taken for a result. A checkpoint the
    /// run wrote before the diverging epoch stays as it was.
    /// </summary>
    public static History Fit(Func<History> fit, float lr, ProgressBar? bar, bool json, TextWriter stdout)
    {
        try
        {
            return fit();
        }
        catch (TrainingDivergedException e)
        {
            bar?.Finish(null);
            string kept = e.History.CheckpointPath is { } ck ? $"Nothing saved; {ck} still holds epoch {e.KeptEpoch}." : "Nothing saved.";
            string message = $"{e.Reason} {kept} Try a lower --lr (now {Show(lr)}).";
            if (json)
                stdout.WriteLine(Json.Write(new JsonObject
                {
                    ["diverged"] = true, ["epoch"] = e.Epoch, ["batch"] = e.Batch, ["layer"] = e.Layer,
                    ["site"] = e.Site.ToString().ToLowerInvariant(), ["error"] = message,
                }));
            throw new ArithmeticException(message, e);
        }
    }

    private static string Show(float v) => v.ToString(CultureInfo.InvariantCulture);
}
