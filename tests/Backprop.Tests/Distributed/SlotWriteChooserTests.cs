using Backprop.Distributed;

namespace Backprop.Tests.Distributed;

/// <summary>
/// The shared window's choice between ordinary and non-temporal writes (<see cref="SlotWriteChooser"/>): it settles
/// on the kind that costs less, tries the other one every <see cref="SlotWriteChooser.TrialPeriod"/> timed calls,
/// follows a machine whose costs change, and is not moved by small calls or one slow call.
/// </summary>
public sealed class SlotWriteChooserTests
{
    private const int Large = 200_704;   // the reference MLP's first weight gradient: timed

    // Runs `calls` allreduces of `values` whose cost per value is costOf(kind); returns how many used each kind.
    private static (int Cached, int NonTemporal) Simulate(SlotWriteChooser chooser, int calls, Func<SlotWrites, double> costOf, int values = Large)
    {
        var used = new int[2];
        for (int c = 0; c < calls; c++)
        {
            var kind = chooser.Next;
            used[(int)kind]++;
            chooser.Record(kind, values, (long)(costOf(kind) * values));
        }
        return (used[0], used[1]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ItSettlesOnTheCheaperKindAndTriesTheOtherEveryPeriod(bool nonTemporalCheaper)
    {
        var cheaper = nonTemporalCheaper ? SlotWrites.NonTemporal : SlotWrites.Cached;
        var chooser = new SlotWriteChooser();
        Assert.Equal(SlotWrites.Cached, chooser.Next);
        int calls = 100 * (SlotWriteChooser.TrialPeriod + 1);
        var (cached, nonTemporal) = Simulate(chooser, calls, kind => kind == cheaper ? 1.0 : 2.0);
        Assert.Equal(cheaper, chooser.Best);
        int other = cheaper == SlotWrites.Cached ? nonTemporal : cached;
        // One trial per period (give or take the two warm-up calls of each kind at the start).
        Assert.InRange(other, 100 - 3, 100 + 4);
    }

    [Fact]
    public void ItFollowsAMachineWhoseCheaperKindChanges()
    {
        var chooser = new SlotWriteChooser();
        bool moved = false;
        double Cost(SlotWrites kind) => (kind == SlotWrites.Cached) != moved ? 1.0 : 2.5;
        Simulate(chooser, 1000, Cost);
        Assert.Equal(SlotWrites.Cached, chooser.Best);
        moved = true;   // the cores no longer share a cache: non-temporal writes win now
        Simulate(chooser, 2 * SlotWriteChooser.TrialPeriod + 10, Cost);
        Assert.Equal(SlotWrites.NonTemporal, chooser.Best);
        var (cached, _) = Simulate(chooser, 10 * (SlotWriteChooser.TrialPeriod + 1), Cost);
        Assert.InRange(cached, 9, 11);   // only the trials
    }

    [Fact]
    public void SmallCallsAreNotTimedAndLeaveAPendingTrialPending()
    {
        var chooser = new SlotWriteChooser();
        Simulate(chooser, 1, _ => 1.0);   // the cached warm-up
        Simulate(chooser, 1, _ => 1.0);   // cached measured: the other kind is still unknown, so it is tried next
        Assert.Equal(SlotWrites.NonTemporal, chooser.Next);
        // Small calls, however slow, change nothing: the trial waits for a timed call.
        Simulate(chooser, 50, _ => 1000.0, values: SlotWriteChooser.TimedMinimum - 1);
        Assert.Equal(SlotWrites.NonTemporal, chooser.Next);
        Assert.Equal(SlotWrites.Cached, chooser.Best);
    }

    [Fact]
    public void OneSlowCallDoesNotBuryTheCheaperKind()
    {
        var chooser = new SlotWriteChooser();
        static double Cost(SlotWrites kind) => kind == SlotWrites.Cached ? 1.0 : 1.6;
        Simulate(chooser, 200, Cost);
        while (chooser.Next != SlotWrites.Cached) Simulate(chooser, 1, Cost);   // past a trial
        chooser.Record(SlotWrites.Cached, Large, 100L * Large);   // the core taken away for a moment: 100× slower
        Assert.Equal(SlotWrites.Cached, chooser.Best);
        var (_, nonTemporal) = Simulate(chooser, SlotWriteChooser.TrialPeriod, Cost);
        Assert.InRange(nonTemporal, 0, 1);   // at most the trial that was due
    }

    [Fact]
    public void ItsFirstTimedCallOfEachKindIsAWarmUpAndDoesNotCount()
    {
        var chooser = new SlotWriteChooser();
        // A first call that pays for the window's page faults, then the true costs: cached is the cheaper.
        chooser.Record(SlotWrites.Cached, Large, 50L * Large);
        Assert.Equal(SlotWrites.Cached, chooser.Next);   // measured again
        Simulate(chooser, 40, kind => kind == SlotWrites.Cached ? 1.0 : 2.0);
        Assert.Equal(SlotWrites.Cached, chooser.Best);
    }
}
