using System.Globalization;
using Backprop.Data;
using Backprop.Nn;

namespace Backprop.Training;

/// <summary>
/// <c>Fit</c>'s divergence rule (<see cref="FitOptions.StopOnDivergence"/>):
/// <list type="number">
/// <item>a batch whose loss is NaN or ±∞ stops the run before its update is applied;</item>
/// <item>an epoch whose parameters or buffers end non-finite (a gradient overflowed while the loss stayed finite) stops it;</item>
/// <item>an epoch whose running mean training loss, once it covers <see cref="ReferenceRows"/> rows (or the whole
/// epoch, if smaller), is more than <see cref="FitOptions.DivergenceFactor"/> (100) times the reference stops it. The
/// reference is the model's mean loss on the first <see cref="ReferenceRows"/> training rows as the run found it,
/// measured once before the first step in evaluation mode (and kept in checkpoints): a healthy run only goes down
/// from there, so two orders of magnitude above it is a run that is blowing up, NaN or not. A mean over many rows,
/// not one batch, so that one unlucky batch (an outlier row, a batch of one) is not taken for divergence.</item>
/// </list>
/// Either way the model gets back the parameters and buffers it had when the epoch started, and the first layer
/// whose values went non-finite is found by re-running the batch layer by layer (<see cref="DivergenceDiagnosis"/>).
/// The hot path pays two comparisons per batch; each epoch pays one copy of the parameters and one pass over them.
/// </summary>
internal sealed class DivergenceGuard
{
    private readonly Module model;
    private readonly Tensor[] tensors;
    private readonly float[][] snapshot;
    private readonly double factor, reference;
    private readonly int growthRows;
    private int startBatch;   // the batch the epoch started at (non-zero only for a run resumed mid-epoch)

    /// <summary>Rows the reference loss is measured on, and the least a running mean must cover before it is compared.</summary>
    public const int ReferenceRows = 256;

    /// <summary>The model's mean loss on the first <see cref="ReferenceRows"/> rows of <paramref name="train"/>, in evaluation mode.</summary>
    public static double Reference(Module model, Dataset train, ILoss loss) =>
        model.Evaluate(train.Take(Math.Min(ReferenceRows, train.Count)), loss).Loss;

    public DivergenceGuard(Module model, double factor, double reference, int trainRows)
    {
        if (!(factor > 1))
            throw new ArgumentOutOfRangeException(nameof(factor), factor,
                $"FitOptions.DivergenceFactor must be above 1 (or infinity to keep only the NaN check) but is {factor.ToString(CultureInfo.InvariantCulture)}.");
        this.model = model;
        this.factor = factor;
        this.reference = reference;
        growthRows = Math.Min(ReferenceRows, trainRows);
        tensors = [.. model.NamedParameters().Select(p => p.Parameter), .. model.NamedBuffers().Select(b => b.Buffer)];
        snapshot = [.. tensors.Select(t => new float[t.Size])];
        // A NaN weight need not show in the loss at once (ReLU maps NaN to 0), so it is looked for before the first step.
        if (DivergenceDiagnosis.FirstNonFiniteWeights(model) is { Site: NonFiniteSite.Weights } bad)
            throw new ArgumentException($"{bad.Describe()} weights hold NaN or infinite values before training; a model cannot train from them.", nameof(model));
    }

    /// <summary>Keeps a copy of the weights the epoch starts from (the ones restored if it diverges).</summary>
    public void EpochStarts(int batch)
    {
        for (int i = 0; i < tensors.Length; i++) tensors[i].AsSpan().CopyTo(snapshot[i]);
        startBatch = batch;
    }

    /// <summary>
    /// Null when batch <paramref name="batch"/>'s summed loss is finite (its update may be applied) and the epoch's
    /// running mean (<paramref name="epochLossSum"/> over <paramref name="epochSeen"/> rows, this batch included) is
    /// within the growth limit; else restores the epoch's starting weights and returns the exception to throw.
    /// </summary>
    public TrainingDivergedException? AfterBatch(int epoch, int batch, double lossSum, double epochLossSum, int epochSeen,
        Dataset train, ILoss loss, ReadOnlySpan<int> rows, History history)
    {
        double mean = lossSum / rows.Length;
        if (double.IsFinite(mean))
        {
            double running = epochLossSum / epochSeen;
            if (epochSeen < growthRows || !(reference > 0) || !(running > factor * reference)) return null;
            return Fail($"training diverged at epoch {epoch}, batch {batch}: the epoch's mean loss so far is {Show(running)}, more than " +
                $"{Show(factor)} × the loss the model started from ({Show(reference)}).", epoch, batch, running, default, history);
        }
        var found = DivergenceDiagnosis.Find(model, train, loss, rows);
        string where = found.Site switch
        {
            // Training starts from finite weights (the constructor) and every epoch ends with them (AfterEpoch), so
            // non-finite weights come from the last update, whose loss was finite (else the run would have stopped
            // there) while its gradients were not.
            NonFiniteSite.Weights => batch > startBatch + 1
                ? $"{found.Describe()} weights became non-finite in the update of batch {batch - 1}, whose loss was finite"
                : $"{found.Describe()} weights were non-finite when the epoch started",
            NonFiniteSite.Activations => $"first non-finite values in {found.Describe()} activations",
            NonFiniteSite.Gradients => $"first non-finite values in {found.Describe()} gradients",
            NonFiniteSite.Loss => "the model's outputs were finite but the loss of them was not (outputs the loss cannot take, or so far off that it overflowed)",
            _ => "the batch stays finite when re-run through the autograd graph, so no layer can be named",
        };
        return Fail($"training diverged at epoch {epoch}, batch {batch}: the loss became {(double.IsNaN(mean) ? "NaN" : "infinite")}; {where}.",
            epoch, batch, mean, found, history);
    }

    /// <summary>
    /// Null when the finished epoch (the last entry of <paramref name="history"/>) ends with finite weights; else
    /// restores the epoch's starting weights and returns the exception.
    /// </summary>
    public TrainingDivergedException? AfterEpoch(History history, int batches)
    {
        var m = history.Last;
        bool finite = true;
        for (int i = 0; i < tensors.Length && finite; i++) finite = AllFinite(tensors[i].AsSpan());
        if (!finite)
        {
            var found = DivergenceDiagnosis.FirstNonFiniteWeights(model);
            return Fail($"training diverged at epoch {m.Epoch}: the loss stayed finite, but an update made {found.Describe()} weights non-finite.",
                m.Epoch, batches, m.Loss, found, history);
        }
        return null;
    }

    private TrainingDivergedException Fail(string reason, int epoch, int batch, double loss, DivergenceDiagnosis.Finding found, History history)
    {
        for (int i = 0; i < tensors.Length; i++)
        {
            snapshot[i].CopyTo(tensors[i].AsSpan());
            tensors[i].MarkWritten();
        }
        string kept = startBatch > 0 ? $"Kept the weights of epoch {epoch}, batch {startBatch}, where the run resumed."
            : epoch == 1 ? "Kept the weights training started from."
            : $"Kept the weights of epoch {epoch - 1}.";
        return new TrainingDivergedException(reason, epoch, batch, loss, found.Layer, found.LayerName, found.Site, history, kept);
    }

    internal static bool AllFinite(ReadOnlySpan<float> values)
    {
        foreach (float v in values)
            if (!float.IsFinite(v)) return false;
        return true;
    }

    private static string Show(double v) => v.ToString(Math.Abs(v) >= 1e5 ? "0.###e0" : "0.####", CultureInfo.InvariantCulture);
}
