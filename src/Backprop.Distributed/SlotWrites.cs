namespace Backprop.Distributed;

/// <summary>
/// How a rank writes the values it hands to the other ranks of its machine into the shared window. Both give the
/// same bits; they differ in where the reading rank finds them, and so in speed.
/// </summary>
internal enum SlotWrites
{
    /// <summary>
    /// Ordinary stores: the lines stay in the writer's cache and the reader takes them from there. Fast when the
    /// ranks' cores share a last-level cache.
    /// </summary>
    Cached,

    /// <summary>
    /// Non-temporal (streaming) stores: the lines go to memory past the writer's cache and the reader takes them from
    /// memory. Fast when the cores do not share a cache (another chiplet or socket), where taking a line out of
    /// another core's cache costs more than reading memory.
    /// </summary>
    NonTemporal,
}

/// <summary>
/// Picks <see cref="SlotWrites"/> for the shared-memory collectives by timing both: the kind that has cost less per
/// value lately, with a trial of the other kind after every <see cref="TrialPeriod"/> timed calls, so a change of the
/// machine (a virtual machine's two cores moved onto one chiplet, or apart) is followed within a few hundred calls.
/// </summary>
/// <remarks>
/// Which kind is faster is a property of where the ranks' cores sit, which a virtual machine's host can change while
/// a job runs; measuring it is the only reliable way to know. Calls of fewer than <see cref="TimedMinimum"/> values
/// are not timed: their cost is mostly the barriers'. The first timed call of each kind is not counted either (it
/// touches the window's pages for the first time), and one slow call moves a kind's average by a quarter at most, so a
/// moment without the core does not bury the faster kind. A trial chosen while small calls come stays chosen until a
/// timed call has measured it. Deterministic: the same sequence of recorded calls gives the same choices.
/// </remarks>
internal sealed class SlotWriteChooser
{
    /// <summary>Calls of at least this many values are timed (256 KiB): below it the barriers dominate.</summary>
    public const int TimedMinimum = 1 << 16;

    /// <summary>Timed calls between trials of the kind not in use.</summary>
    public const int TrialPeriod = 32;

    // Each kind's recent cost in ticks per value moved, a moving average (weight 1/4 to the newest call); NaN: not yet measured.
    private readonly double[] cost = [double.NaN, double.NaN];
    private readonly bool[] warm = new bool[2];
    private int sinceTrial;

    /// <summary>The kind the next call should use.</summary>
    public SlotWrites Next { get; private set; } = SlotWrites.Cached;

    /// <summary>The kind that has cost less lately (the one in use between trials).</summary>
    public SlotWrites Best => double.IsNaN(cost[1]) || cost[0] <= cost[1] ? SlotWrites.Cached : SlotWrites.NonTemporal;

    /// <summary>
    /// Records a call over a buffer of <paramref name="values"/> values that wrote with <paramref name="used"/> and
    /// spent <paramref name="ticks"/> writing, reading and summing (not waiting for the other ranks to arrive). Sets
    /// <see cref="Next"/>. One chooser times one kind of collective: their costs per value differ.
    /// </summary>
    public void Record(SlotWrites used, int values, long ticks)
    {
        if (values < TimedMinimum) return;
        int k = (int)used;
        if (!warm[k])
        {
            // A kind's first timed call pays for first touches (the window's pages, caches); measure it again.
            warm[k] = true;
            Next = used;
            return;
        }
        var before = Best;
        double perValue = ticks / (double)values;
        // One slow call (the core taken away for a moment) moves the average by a quarter at most.
        cost[k] = double.IsNaN(cost[k]) ? perValue : cost[k] + (Math.Min(perValue, 2 * cost[k]) - cost[k]) / 4;
        var best = Best;
        var other = best == SlotWrites.Cached ? SlotWrites.NonTemporal : SlotWrites.Cached;
        sinceTrial = used != best || best != before ? 0 : sinceTrial + 1;   // a trial that lost, or a new leader
        Next = double.IsNaN(cost[(int)other]) || sinceTrial >= TrialPeriod ? other : best;
    }
}
