namespace Backprop.Training;

/// <summary>Where the first non-finite value of a diverged batch was found (see <see cref="TrainingDivergedException"/>).</summary>
public enum NonFiniteSite
{
    /// <summary>Not looked for (the loss grew without turning non-finite), or not found when the batch was re-run.</summary>
    None,

    /// <summary>A layer's parameters or buffers were already non-finite: an earlier update overflowed.</summary>
    Weights,

    /// <summary>A layer's output in the forward pass.</summary>
    Activations,

    /// <summary>The loss itself, from finite outputs.</summary>
    Loss,

    /// <summary>A gradient in the backward pass (the layer's output gradient or its parameters' gradients).</summary>
    Gradients,
}

/// <summary>
/// <c>Fit</c> stopped a diverging run (<see cref="FitOptions.StopOnDivergence"/>): a batch's loss turned NaN or
/// infinite, an epoch ended with non-finite weights, or the epoch's running loss grew past
/// <see cref="FitOptions.DivergenceFactor"/> times the loss the model started from. The model holds the weights
/// (parameters and buffers) it had when the diverging epoch started.
/// </summary>
public sealed class TrainingDivergedException : ArithmeticException
{
    internal TrainingDivergedException(string reason, int epoch, int batch, double loss, string? layer, string? layerName,
        NonFiniteSite site, History history, string kept)
        : base($"{reason} {kept}")
    {
        Reason = reason;
        Epoch = epoch;
        Batch = batch;
        Loss = loss;
        Layer = layer;
        LayerName = layerName;
        Site = site;
        History = history;
    }

    /// <summary>What happened, without the sentence about the kept weights, e.g.
    /// <c>training diverged at epoch 3, batch 12: the loss became NaN; first non-finite values in layer 2 (Dense(64→10)) gradients.</c></summary>
    public string Reason { get; }

    /// <summary>The 1-based epoch that diverged.</summary>
    public int Epoch { get; }

    /// <summary>The 1-based batch of <see cref="Epoch"/> after which the run was stopped: the one whose loss was
    /// non-finite, or after which the epoch's running loss passed the growth limit (or the epoch's last batch, when
    /// its weights ended non-finite).</summary>
    public int Batch { get; }

    /// <summary>The non-finite batch loss (mean over the batch), or the epoch's running mean loss for the growth rule.</summary>
    public double Loss { get; }

    /// <summary>The layer where the first non-finite value appeared, as the path <c>backprop summary</c> numbers it
    /// (<c>2</c>, or <c>1.0</c> inside a nested Sequential); null when none was named.</summary>
    public string? Layer { get; }

    /// <summary>That layer, e.g. <c>Dense(64→10)</c>; null when none was named.</summary>
    public string? LayerName { get; }

    /// <summary>Whether the first non-finite values were in the layer's weights, activations or gradients, or the loss.</summary>
    public NonFiniteSite Site { get; }

    /// <summary>The epochs completed before the diverging one (the weights kept are those of the last of them).</summary>
    public History History { get; }

    /// <summary>The epoch whose weights the model holds: the last completed one (0: the weights training started
    /// from; a run resumed inside the diverging epoch keeps the checkpoint's weights).</summary>
    public int KeptEpoch => Epoch - 1;
}
