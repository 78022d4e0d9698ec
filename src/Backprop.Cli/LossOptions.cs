using System.Globalization;
using Backprop.Data;
using Backprop.Nn;

namespace Backprop.Cli;

/// <summary>
/// <c>backprop train</c>'s loss and gradient options: <c>--loss NAME</c> with <c>--label-smoothing F</c> for
/// cross-entropy, the output layer nll and kl_div need, and <c>--clip-grad-norm X</c> / <c>--clip-grad-value X</c>.
/// </summary>
internal static class LossOptions
{
    public const string Help =
        "  --loss NAME          cross_entropy (default for classes), mse (default for regression), half_mse, bce, bce_logits,\n" +
        "                       l1, smooth_l1, huber, nll or kl_div (these two take log-probabilities: mlp:... then ends\n" +
        "                       with log_softmax; a --model spec must end with it)\n" +
        "  --label-smoothing F  with cross_entropy: spread F of each target's mass evenly over the classes (default 0)\n";

    public const string ClipHelp =
        "  --clip-grad-norm X   before each step, scale the gradients so their global L2 norm is at most X (default: off)\n" +
        "  --clip-grad-value X  before each step, clamp every gradient element to [-X, X] (default: off)\n";

    /// <summary>The option names these read.</summary>
    public static readonly string[] Names = ["loss", "label-smoothing", "clip-grad-norm", "clip-grad-value"];

    /// <summary>The loss the options name (default cross_entropy for classes, mse for regression).</summary>
    public static ILoss Parse(CommandLine cl, Dataset data)
    {
        var loss = Losses.ByName(cl.String("loss", data.IsClassification ? "cross_entropy" : "mse"));
        if (!cl.Has("label-smoothing")) return loss;
        if (loss is not CrossEntropyLoss)
            throw new UsageException($"--label-smoothing goes with --loss cross_entropy, but the loss is {loss.Name}.");
        float smoothing = cl.Float("label-smoothing", 0f, min: 0f, maxExclusive: 1f);
        return smoothing == 0f ? loss : new CrossEntropyLoss(labelSmoothing: smoothing);
    }

    /// <summary>The output activation an <c>mlp:...</c> model gets for <paramref name="loss"/>, or null for none.</summary>
    public static string? OutputActivation(ILoss loss) => loss.Name switch
    {
        "bce" => "sigmoid",
        "nll" or "kl_div" => "log_softmax",
        _ => null,
    };

    /// <summary>Refuses a model spec that does not end with log_softmax for a loss that reads log-probabilities.</summary>
    public static void CheckModelEnd(ILoss loss, Sequential model)
    {
        if (loss.Name is not ("nll" or "kl_div")) return;
        Module last = model;
        while (last is Sequential s && s.Layers.Count > 0) last = s.Layers[^1];
        if (last is not LogSoftmax)
            throw new UsageException($"--loss {loss.Name} takes log-probabilities, so the model must end with log_softmax, but it ends with {last}; " +
                "add '-log_softmax' to the spec.");
    }

    /// <summary>The clipping limits asked for (null when not), each a positive number.</summary>
    public static (float? Norm, float? Value) Clipping(CommandLine cl) => (Positive(cl, "clip-grad-norm"), Positive(cl, "clip-grad-value"));

    private static float? Positive(CommandLine cl, string name)
    {
        if (!cl.Has(name)) return null;
        var s = cl.String(name);
        if (!float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !float.IsFinite(v))
            throw new UsageException($"--{name} expects a number but got '{s}'.");
        if (v <= 0f) throw new UsageException($"--{name} must be a positive number but got {s}.");
        return v;
    }
}
