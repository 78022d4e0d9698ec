namespace Backprop.Training;

/// <summary>
/// Stops training when the monitored loss (validation loss when a validation set is given, else training loss)
/// has not improved by more than <see cref="MinDelta"/> for <see cref="Patience"/> epochs, and optionally puts the
/// best weights back.
/// </summary>
/// <param name="Patience">Epochs without improvement to tolerate.</param>
/// <param name="MinDelta">The smallest decrease that counts as an improvement.</param>
/// <param name="RestoreBestWeights">Whether to reload the parameters of the best epoch when stopping.</param>
public sealed record EarlyStopping(int Patience = 10, double MinDelta = 0, bool RestoreBestWeights = true);
