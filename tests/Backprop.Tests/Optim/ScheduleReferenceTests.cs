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
