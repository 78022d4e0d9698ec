using Backprop.Data;
using Backprop.Training;

namespace Backprop.Cli;

/// <summary>
/// What <c>backprop train</c> does when an option is left out: the defaults a Keras or scikit-learn user expects
/// (Adam at 1e-3, ReLU, batch 32, early stopping), adjusted to the data's size.
/// </summary>
internal static class TrainDefaults
{
    /// <summary>One hidden layer of 100, as scikit-learn's MLPClassifier: wide enough for Fashion-MNIST and the UCI tables.</summary>
    public const string Model = "mlp:100";
    public const string Activation = "relu";
    public const float LearningRate = 1e-3f;
    public const int Batch = 32;
    public const float TestSplit = 0.2f;

    /// <summary>Without --epochs: at most this many epochs, stopped by <see cref="Patience"/> on the validation loss.</summary>
    public const int MaxEpochs = 500;
    public const int Patience = 10;
    public const float ValidationSplit = 0.1f;

    /// <summary>
    /// Below this many rows a held-out test set would have fewer than 5 rows (at the 0.2 split), where one row moves
    /// the accuracy by 20% or more and a class may be missing from training altogether (xor's 4 rows split 3/1 cannot
    /// be learned); such data trains and is scored on every row.
    /// </summary>
    public const int TinyRows = 25;

    /// <summary>Tiny data has no rows to spare for validation, so it trains a fixed length: 1000 steps of Adam at 1e-3.</summary>
    public const int TinyEpochs = 1000;

    /// <summary>
    /// Without --schedule, a run of known length anneals the rate to 0 along a cosine: the last epochs take small steps,
    /// so the weights end near a minimum instead of wherever the last noisy steps of a constant rate left them
    /// (Fashion-MNIST, mlp:256,128, 5 epochs, seed 1: 0.8794 constant, 0.8910 cosine). Early stopping keeps a constant rate: its
    /// length is not known in advance.
    /// </summary>
    public const string FixedLengthSchedule = "cosine";

    /// <summary>True when the data is too small to hold out a test set, and no split was asked for.</summary>
    public static bool IsTiny(CommandLine cl, Dataset data, bool predefinedSplit) =>
        !predefinedSplit && !cl.Has("test-split") && data.Count < TinyRows;

    /// <summary>
    /// How long to train and what decides the end. An explicit <c>--epochs</c> trains that many (early stopping
    /// only with <c>--patience</c>, as before); without it, early stopping on a validation split of the training rows
    /// is the default, except for tiny data, which trains <see cref="TinyEpochs"/> on all rows.
    /// </summary>
    public static RunLength Length(CommandLine cl, bool tiny)
    {
        bool patience = cl.Has("patience");
        if (tiny && (cl.Has("val-split") || patience))
            throw new UsageException($"--{(cl.Has("val-split") ? "val-split" : "patience")} needs rows held out for validation, but a set of under {TinyRows} rows trains and is scored on all of them; give --test-split to split it anyway.");
        if (cl.Has("epochs") || tiny)
        {
            int epochs = cl.Has("epochs") ? cl.Int("epochs", MaxEpochs, min: 1) : TinyEpochs;
            float val = cl.Float("val-split", patience && !tiny ? ValidationSplit : 0f, min: 0f, maxExclusive: 1f);
            var early = patience ? new EarlyStopping(cl.Int("patience", Patience, min: 1)) : null;
            string text = $"{epochs} epoch{(epochs == 1 ? "" : "s")}" + (early is null ? "" : $", early stopping after {early.Patience} without improvement")
                + (tiny && !cl.Has("epochs") ? " (fixed: too few rows to hold out validation)" : "");
            return new RunLength(epochs, early, val, text, early is null ? FixedLengthSchedule : "constant");
        }
        float valSplit = cl.Float("val-split", ValidationSplit, min: 0f, maxExclusive: 1f);
        if (valSplit == 0f && !patience)
            return new RunLength(MaxEpochs, null, 0f, $"{MaxEpochs} epochs (fixed: --val-split 0 leaves no rows to stop on)", FixedLengthSchedule);
        var stop = new EarlyStopping(cl.Int("patience", Patience, min: 1));
        return new RunLength(MaxEpochs, stop, valSplit,
            $"up to {MaxEpochs} epochs, early stopping after {stop.Patience} without a better validation loss (best weights restored)", "constant");
    }
}

/// <summary>
/// The run's length: epochs (the most, with early stopping), the stopping rule, the validation fraction, how to say it,
/// and the schedule used when --schedule is not given.
/// </summary>
internal sealed record RunLength(int Epochs, EarlyStopping? Early, float ValidationSplit, string Text, string Schedule);
