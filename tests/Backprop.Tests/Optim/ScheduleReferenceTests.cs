using Backprop.Optim;
using Backprop.Tests.Golden;

namespace Backprop.Tests.Optim;

/// <summary>Learning-rate schedules against PyTorch's schedulers (tools/make_schedule_reference.py).</summary>
public sealed class ScheduleReferenceTests
{
    public static TheoryData<string> Cases() => [.. GoldenFile.Load("torch_schedules.json").GetProperty("schedules").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    private static LearningRateSchedule Make(string name) => name switch
    {
        "step_3_0.5" => new StepSchedule(3, 0.5f),
        "cosine_8_0" => new CosineSchedule(8),
        "cosine_10_0.01" => new CosineSchedule(10, 0.01f),
        "warmup_3_0.1_constant" => new WarmupSchedule(LearningRateSchedule.Constant, 3, 0.1f),
        "warmup_2_0.25_cosine_6_0.001" => new WarmupSchedule(new CosineSchedule(6, 0.001f), 2, 0.25f),
        "warmup_2_0.5_step_2_0.1" => new WarmupSchedule(new StepSchedule(2, 0.1f), 2, 0.5f),
        "warmup_5_0.1_cosine_40_0" => new WarmupSchedule(new CosineSchedule(40), 5, 0.1f),
        "onecycle_20" => new OneCycleSchedule(20),
        "onecycle_17_0.25_10_100" => new OneCycleSchedule(17, pctStart: 0.25f, divFactor: 10f, finalDivFactor: 100f),
        "onecycle_100_max_0.5" => new OneCycleSchedule(100, maxRate: 0.5f),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void RatesMatchPyTorch(string name)
    {
        var c = GoldenFile.Load("torch_schedules.json").GetProperty("schedules").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        float baseRate = c.GetProperty("base").GetSingle();
        var expected = c.GetProperty("rates").EnumerateArray().Select(r => r.GetDouble()).ToList();
        var schedule = Make(name);
        for (int t = 0; t < expected.Count; t++)
        {
            // PyTorch multiplies chained float64 factors; we evaluate the closed form and round once to float32.
            double actual = schedule.Rate(baseRate, t);
            Assert.True(Math.Abs(actual - expected[t]) <= 1e-7 + 1e-6 * expected[t], $"{name} t={t}: {actual} vs torch {expected[t]}");
        }
    }

    public static TheoryData<string> PlateauCases() => [.. GoldenFile.Load("torch_schedules.json").GetProperty("plateau").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    [Theory]
    [MemberData(nameof(PlateauCases))]
    public void PlateauReductionsMatchPyTorch(string name)
    {
        var c = GoldenFile.Load("torch_schedules.json").GetProperty("plateau").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var k = c.GetProperty("settings");
        float Setting(string key, float fallback) => k.TryGetProperty(key, out var v) ? v.GetSingle() : fallback;
        var plateau = new ReduceOnPlateauSchedule(Setting("factor", 0.1f), (int)Setting("patience", 10), Setting("threshold", 1e-4f),
            !k.TryGetProperty("threshold_mode", out var mode) || mode.GetString() == "rel", (int)Setting("cooldown", 0), Setting("min_lr", 0f));
        float baseRate = c.GetProperty("base").GetSingle();
        var losses = c.GetProperty("losses").EnumerateArray().Select(l => l.GetDouble()).ToList();
        var expected = c.GetProperty("rates").EnumerateArray().Select(r => r.GetDouble()).ToList();
        for (int e = 0; e < losses.Count; e++)
        {
            plateau.Observe(losses[e]);
            double actual = plateau.Rate(baseRate, e);
            Assert.True(Math.Abs(actual - expected[e]) <= 1e-9 + 1e-6 * expected[e], $"{name} after loss {e}: {actual} vs torch {expected[e]}");
        }
        Assert.True(plateau.Reductions > 0);
        plateau.Reset();
        Assert.Equal(baseRate, plateau.Rate(baseRate, 0));
    }

    public static TheoryData<string> GroupCases() => [.. GoldenFile.Load("torch_schedules.json").GetProperty("groups").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    [Theory]
    [MemberData(nameof(GroupCases))]
    public void EachGroupIsScaledFromItsOwnBaseRate(string name)
    {
        var c = GoldenFile.Load("torch_schedules.json").GetProperty("groups").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        LearningRateSchedule schedule = name switch
        {
            "cosine_6_0.001" => new CosineSchedule(6, 0.001f),
            "warmup_2_0.25_step_2_0.5" => new WarmupSchedule(new StepSchedule(2, 0.5f), 2, 0.25f),
            "onecycle_12" => new OneCycleSchedule(12),
            _ => throw new ArgumentException(name),
        };
        var bases = c.GetProperty("bases").Floats();
        var rates = c.GetProperty("rates").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToList()).ToList();
        for (int g = 0; g < bases.Length; g++)
            for (int t = 0; t < rates[g].Count; t++)
            {
                double actual = schedule.Rate(bases[g], t);
                Assert.True(Math.Abs(actual - rates[g][t]) <= 1e-9 + 1e-6 * rates[g][t], $"{name} group {g} t={t}: {actual} vs torch {rates[g][t]}");
            }
    }

    [Fact]
    public void OneCycleEndsAtItsFloorAndRejectsBadSettings()
    {
        var cycle = new OneCycleSchedule(10, maxRate: 1f, divFactor: 4f, finalDivFactor: 5f);
        Assert.Equal(0.25f, cycle.Rate(123f, 0));   // α_max/d, whatever the base: the peak was given
        Assert.Equal(0.05f, cycle.Rate(123f, 9), 6);
        Assert.Equal(0.05f, cycle.Rate(123f, 50), 6);
        Assert.Contains("at least 2 steps but got 1", Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycleSchedule(1)).Message);
        Assert.Contains("in (0, 1) but got 1", Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycleSchedule(10, pctStart: 1f)).Message);
        Assert.Contains("in (0, 1) but got 1.5", Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceOnPlateauSchedule(factor: 1.5f)).Message);
        Assert.Contains("≥ 0 epochs but got -1", Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceOnPlateauSchedule(patience: -1)).Message);
    }

    [Fact]
    public void CosineStaysAtItsMinimumAfterTheRun()
    {
        var cosine = new CosineSchedule(4, 0.01f);
        Assert.Equal(0.01f, cosine.Rate(1f, 4));
        Assert.Equal(0.01f, cosine.Rate(1f, 9));
        Assert.Equal(0.5f, LearningRateSchedule.Constant.Rate(0.5f, 1000));
    }

    [Fact]
    public void BadSettingsNameTheValue()
    {
        Assert.Contains("at least 1", Assert.Throws<ArgumentOutOfRangeException>(() => new StepSchedule(0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineSchedule(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WarmupSchedule(LearningRateSchedule.Constant, 2, 0f));
    }
}
