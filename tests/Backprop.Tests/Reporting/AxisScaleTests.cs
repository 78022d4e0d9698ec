using Backprop.Reporting;

namespace Backprop.Tests.Reporting;

public sealed class AxisScaleTests
{
    [Fact]
    public void LossRangeGetsStepsOfOneFifth()
    {
        // range 0.9119 → nice 1; 1 / 5 intervals = 0.2; the axis spans the multiples of 0.2 around the data.
        var axis = AxisScale.Nice(0.0374, 0.9493, maxTicks: 6);
        Assert.Equal(new AxisScale(0, 1, 0.2), axis);
        Assert.Equal([0, 0.2, 0.4, 0.6, 0.8, 1.0], axis.Ticks);
        Assert.Equal("0.4", axis.Format(0.4));
    }

    [Fact]
    public void NarrowAccuracyRangeGetsHundredths()
    {
        var axis = AxisScale.Nice(0.81, 0.86, maxTicks: 6);
        Assert.Equal(new AxisScale(0.81, 0.86, 0.01), axis);
        Assert.Equal([0.81, 0.82, 0.83, 0.84, 0.85, 0.86], axis.Ticks);
        Assert.Equal("0.85", axis.Format(0.85));
    }

    [Fact]
    public void EpochAxesHaveWholeSteps()
    {
        Assert.Equal(new AxisScale(0, 100, 10), AxisScale.Nice(1, 100, maxTicks: 8, integer: true));
        Assert.Equal(new AxisScale(1, 2, 1), AxisScale.Nice(1, 2, maxTicks: 8, integer: true));
        Assert.Equal("20", new AxisScale(0, 100, 10).Format(20));
    }

    [Fact]
    public void SinglePointIsWidenedAroundItself()
    {
        // [5, 5] → [2.5, 7.5]: range 5, step 1 → [2, 8].
        Assert.Equal(new AxisScale(2, 8, 1), AxisScale.Nice(5, 5, maxTicks: 6));
        // [0, 0] → [−0.5, 0.5]: step 0.2 → [−0.6, 0.6].
        Assert.Equal(new AxisScale(-0.6, 0.6, 0.2), AxisScale.Nice(0, 0, maxTicks: 6));
        // One epoch: [0.5, 1.5] with whole steps → [0, 2].
        Assert.Equal(new AxisScale(0, 2, 1), AxisScale.Nice(1, 1, maxTicks: 8, integer: true));
    }

    [Fact]
    public void TicksCarryNoFloatingPointNoise()
    {
        // 0 + 3 · 0.1 is 0.30000000000000004 in binary; the ticks are rounded to the step's decimals.
        Assert.Equal([0, 0.1, 0.2, 0.3], new AxisScale(0, 0.3, 0.1).Ticks);
        Assert.Equal(0.5, new AxisScale(0, 0.3, 0.1).Fraction(0.15), 12);
    }

    [Fact]
    public void NonFiniteOrReversedRangeIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => AxisScale.Nice(double.NaN, 1));
        Assert.Contains("expected finite min <= max but got [NaN, 1]", e.Message);
        Assert.Throws<ArgumentException>(() => AxisScale.Nice(2, 1));
    }
}
