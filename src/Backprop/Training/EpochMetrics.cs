namespace Backprop.Training;

/// <summary>What one epoch of training measured.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Loss">Mean training loss over the epoch's samples.</param>
/// <param name="Accuracy">Training accuracy (classification only).</param>
/// <param name="ValidationLoss">Loss on the validation set, if one was given.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation set (classification only).</param>
/// <param name="Seconds">Wall-clock time of the epoch (training and validation).</param>
/// <param name="LearningRate">The learning rate used.</param>
/// <param name="SamplesPerSecond">Training samples processed per second.</param>
public sealed record EpochMetrics(
    int Epoch, double Loss, double? Accuracy, double? ValidationLoss, double? ValidationAccuracy,
    double Seconds, float LearningRate, double SamplesPerSecond)
{
    /// <summary>
    /// For a model trained with several outputs (<see cref="Nn.MultiOutputLoss"/>), each output's own mean training
    /// loss, unweighted, in output order (<see cref="Loss"/> is their weighted sum); null for one output.
    /// </summary>
    public IReadOnlyList<double>? OutputLosses { get; init; }

    /// <summary>Each output's own loss on the validation set, as <see cref="OutputLosses"/>; null without one.</summary>
    public IReadOnlyList<double>? ValidationOutputLosses { get; init; }
}

/// <summary>The result of evaluating a model on a dataset.</summary>
/// <param name="Loss">Mean loss per sample.</param>
/// <param name="Accuracy">Fraction of correctly classified samples (null for regression).</param>
/// <param name="Count">Number of samples evaluated.</param>
public sealed record Evaluation(double Loss, double? Accuracy, int Count)
{
    /// <summary>
    /// For a model with several outputs (<see cref="Nn.MultiOutputLoss"/>), each output's own mean loss, unweighted,
    /// in output order (<see cref="Loss"/> is their weighted sum); null for one output.
    /// </summary>
    public IReadOnlyList<double>? OutputLosses { get; init; }

    // The record's printout, with the losses per output listed (not their list's type name) when there are some.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"Loss = {Loss}, Accuracy = {Accuracy}, Count = {Count}");
        if (OutputLosses is not null) builder.Append($", OutputLosses = [{string.Join(", ", OutputLosses)}]");
        return true;
    }
}
