namespace Backprop.Optim;

/// <summary>
/// Reduce the rate when a monitored loss stops improving, PyTorch's <c>ReduceLROnPlateau</c> in mode "min": after
/// each epoch <see cref="Observe"/> takes the loss (Fit passes the validation loss, or the training loss without
/// validation data); when it has not improved on the best by the threshold for more than <see cref="Patience"/>
/// epochs in a row, every group's rate becomes max(α·factor, α_min), then <see cref="Cooldown"/> epochs pass before
/// bad epochs count again.
/// </summary>
/// <remarks>
/// Unlike the other schedules this one has state (the best loss, the bad epochs, the cooldown, the reductions so
/// far), which Fit saves in checkpoints and resets at the start of a run that does not resume. The position t is
/// ignored: <see cref="Rate"/> is the base rate reduced as many times as the losses observed so far asked.
/// </remarks>
public sealed class ReduceOnPlateauSchedule : LearningRateSchedule
{
    // PyTorch's eps: a reduction smaller than this is skipped.
    private const double Eps = 1e-8;

    /// <summary>Creates the rule; the defaults are PyTorch's.</summary>
    /// <param name="factor">Multiplies the rate at each reduction, in (0, 1).</param>
    /// <param name="patience">Epochs without improvement tolerated before reducing.</param>
    /// <param name="threshold">Least improvement that counts: relative (loss &lt; best·(1 − threshold)) or absolute (loss &lt; best − threshold).</param>
    /// <param name="relativeThreshold">True for PyTorch's threshold_mode "rel" (default), false for "abs".</param>
    /// <param name="cooldown">Epochs after a reduction during which bad epochs are not counted.</param>
    /// <param name="minRate">α_min, the floor of every group's rate.</param>
    public ReduceOnPlateauSchedule(float factor = 0.1f, int patience = 10, float threshold = 1e-4f, bool relativeThreshold = true,
        int cooldown = 0, float minRate = 0f)
    {
        if (!(factor > 0f && factor < 1f)) throw new ArgumentOutOfRangeException(nameof(factor), factor, $"the plateau factor must be in (0, 1) but got {factor}.");
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, $"the plateau patience must be ≥ 0 epochs but got {patience}.");
        if (!(threshold >= 0f) || float.IsInfinity(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, $"the plateau threshold must be a number ≥ 0 but got {threshold}.");
        if (cooldown < 0) throw new ArgumentOutOfRangeException(nameof(cooldown), cooldown, $"the plateau cooldown must be ≥ 0 epochs but got {cooldown}.");
        if (!(minRate >= 0f) || float.IsInfinity(minRate)) throw new ArgumentOutOfRangeException(nameof(minRate), minRate, $"the minimum rate must be a number ≥ 0 but got {minRate}.");
        (Factor, Patience, Threshold, RelativeThreshold, Cooldown, MinRate) = (factor, patience, threshold, relativeThreshold, cooldown, minRate);
    }

    /// <summary>The factor applied at each reduction.</summary>
    public float Factor { get; }

    /// <summary>Epochs without improvement tolerated before reducing.</summary>
    public int Patience { get; }

    /// <summary>Least improvement that counts.</summary>
    public float Threshold { get; }

    /// <summary>Whether <see cref="Threshold"/> is relative to the best loss.</summary>
    public bool RelativeThreshold { get; }

    /// <summary>Epochs after a reduction during which bad epochs are not counted.</summary>
    public int Cooldown { get; }

    /// <summary>α_min.</summary>
    public float MinRate { get; }

    /// <summary>The best loss observed so far (+∞ before any).</summary>
    public double Best { get; private set; } = double.PositiveInfinity;

    /// <summary>Epochs in a row without improvement.</summary>
    public int BadEpochs { get; private set; }

    /// <summary>Epochs of cooldown left.</summary>
    public int CooldownLeft { get; private set; }

    /// <summary>How many times the rate has been reduced.</summary>
    public int Reductions { get; private set; }

    /// <summary>Takes one epoch's monitored loss (PyTorch's <c>scheduler.step(loss)</c>).</summary>
    public void Observe(double loss)
    {
        if (loss < (RelativeThreshold ? Best * (1 - (double)Threshold) : Best - Threshold))
        {
            Best = loss;
            BadEpochs = 0;
        }
        else BadEpochs++;
        if (CooldownLeft > 0)
        {
            CooldownLeft--;
            BadEpochs = 0;
        }
        if (BadEpochs > Patience)
        {
            Reductions++;
            CooldownLeft = Cooldown;
            BadEpochs = 0;
        }
    }

    /// <summary>Forgets every observation: the next run starts from the base rate.</summary>
    public void Reset() => (Best, BadEpochs, CooldownLeft, Reductions) = (double.PositiveInfinity, 0, 0, 0);

    /// <inheritdoc/>
    public override float Rate(float baseRate, long t)
    {
        // PyTorch multiplies the group's current rate at each reduction and skips one smaller than eps.
        double rate = baseRate;
        for (int k = 0; k < Reductions; k++)
        {
            double next = Math.Max(rate * Factor, MinRate);
            if (rate - next > Eps) rate = next;
        }
        return (float)rate;
    }

    /// <summary>The state a checkpoint keeps: best, bad epochs, cooldown left, reductions.</summary>
    internal double[] SaveState() => [Best, BadEpochs, CooldownLeft, Reductions];

    /// <summary>Restores <see cref="SaveState"/>'s numbers.</summary>
    internal void LoadState(double[] state)
    {
        if (state.Length != 4) throw new FormatException($"a plateau schedule's state needs 4 numbers but the checkpoint has {state.Length}.");
        (Best, BadEpochs, CooldownLeft, Reductions) = (state[0], (int)state[1], (int)state[2], (int)state[3]);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"plateau(factor={Factor}, patience={Patience}, threshold={Threshold}{(RelativeThreshold ? "" : " abs")}, cooldown={Cooldown}, min={MinRate})";
}
