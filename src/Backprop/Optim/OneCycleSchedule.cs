namespace Backprop.Optim;

/// <summary>
/// The one-cycle policy (Smith &amp; Topin, 2019), PyTorch's <c>OneCycleLR</c> with cosine annealing, per optimizer
/// step: over the first ⌊pct·T⌋ steps the rate rises from α_max/d to α_max, then falls to α_max/(d·d_final) at step
/// T − 1, each half along a cosine: anneal(a, b, p) = b + (a − b)·(1 + cos(π·p))/2.
/// </summary>
/// <remarks>
/// Phase one ends at e₁ = pct·T − 1: p = t/e₁ for t ≤ e₁, else p = (t − e₁)/(T − 1 − e₁) in phase two. After step
/// T − 1 the rate stays at its final value (PyTorch raises). PyTorch also cycles momentum (β₁ for Adam) inversely by
/// default; this schedule does not: it moves the learning rate only, as <c>cycle_momentum=False</c>. In <c>Fit</c>,
/// set <see cref="Training.FitOptions.SchedulePerStep"/> and T = epochs × batches per epoch, as PyTorch's
/// <c>total_steps</c> (per epoch, T would count epochs).
/// </remarks>
public sealed class OneCycleSchedule : LearningRateSchedule
{
    /// <summary>
    /// A cycle of <paramref name="totalSteps"/> steps peaking at <paramref name="maxRate"/>, or, when that is null, at
    /// each parameter group's own base rate (so groups keep their ratios, as PyTorch's per-group <c>max_lr</c> list).
    /// </summary>
    public OneCycleSchedule(long totalSteps, float? maxRate = null, float pctStart = 0.3f, float divFactor = 25f, float finalDivFactor = 1e4f)
    {
        if (totalSteps < 2) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, $"the one-cycle length T must be at least 2 steps but got {totalSteps}.");
        if (maxRate is { } m && (!(m > 0f) || float.IsInfinity(m)))
            throw new ArgumentOutOfRangeException(nameof(maxRate), maxRate, $"the peak rate must be a positive number but got {m}.");
        if (!(pctStart > 0f && pctStart < 1f)) throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, $"the rising fraction must be in (0, 1) but got {pctStart}.");
        if (!(divFactor >= 1f) || float.IsInfinity(divFactor)) throw new ArgumentOutOfRangeException(nameof(divFactor), divFactor, $"the start divisor d must be a number ≥ 1 but got {divFactor}.");
        if (!(finalDivFactor >= 1f) || float.IsInfinity(finalDivFactor)) throw new ArgumentOutOfRangeException(nameof(finalDivFactor), finalDivFactor, $"the final divisor must be a number ≥ 1 but got {finalDivFactor}.");
        TotalSteps = totalSteps;
        MaxRate = maxRate;
        PctStart = pctStart;
        DivFactor = divFactor;
        FinalDivFactor = finalDivFactor;
    }

    /// <summary>T, the steps in the cycle.</summary>
    public long TotalSteps { get; }

    /// <summary>α_max, or null to peak at each group's base rate.</summary>
    public float? MaxRate { get; }

    /// <summary>pct, the fraction of the cycle spent rising.</summary>
    public float PctStart { get; }

    /// <summary>d: the cycle starts at α_max/d.</summary>
    public float DivFactor { get; }

    /// <summary>d_final: the cycle ends at α_max/(d·d_final).</summary>
    public float FinalDivFactor { get; }

    /// <inheritdoc/>
    public override float Rate(float baseRate, long t)
    {
        double max = MaxRate ?? baseRate;
        double initial = max / DivFactor, min = initial / FinalDivFactor;
        double end1 = (double)PctStart * TotalSteps - 1, end2 = TotalSteps - 1;
        double step = Math.Min(t, TotalSteps - 1);
        return step <= end1 && end1 > 0
            ? (float)Anneal(initial, max, step / end1)
            : (float)Anneal(max, min, (step - end1) / (end2 - end1));
    }

    private static double Anneal(double from, double to, double p) => to + (from - to) / 2 * (Math.Cos(Math.PI * p) + 1);

    /// <inheritdoc/>
    public override string ToString() =>
        $"onecycle(T={TotalSteps}, max={(MaxRate is { } m ? m.ToString(System.Globalization.CultureInfo.InvariantCulture) : "base")}, pct={PctStart}, d={DivFactor}, d_final={FinalDivFactor})";
}
