using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>The process-wide width: parsed from BACKPROP_SIMD (or BACKPROP_GEMM), capped to the hardware, fixed for the process.</summary>
public sealed class SimdWidthTests
{
    [Theory]
    [InlineData("scalar", null, SimdWidth.Vector512, SimdWidth.Scalar)]
    [InlineData("v128", null, SimdWidth.Vector256, SimdWidth.Vector128)]
    [InlineData(" V256 ", null, SimdWidth.Vector512, SimdWidth.Vector256)]
    [InlineData("v512", null, SimdWidth.Vector256, SimdWidth.Vector256)]   // wider than the hardware: capped
    [InlineData("v256", null, SimdWidth.Scalar, SimdWidth.Scalar)]
    [InlineData(null, null, SimdWidth.Vector128, SimdWidth.Vector128)]     // unset: the hardware's width
    [InlineData("nonsense", null, SimdWidth.Vector256, SimdWidth.Vector256)]
    [InlineData(null, "scalar", SimdWidth.Vector256, SimdWidth.Scalar)]    // BACKPROP_GEMM alone is honoured
    [InlineData("v128", "scalar", SimdWidth.Vector256, SimdWidth.Vector128)] // BACKPROP_SIMD wins over the alias
    public void SettingIsParsedAndCappedToTheHardware(string? simd, string? gemm, SimdWidth hardware, SimdWidth expected) =>
        Assert.Equal(expected, Simd.Choose(simd, gemm, hardware));

    [Fact]
    public void ProcessWidthIsFixedAndRunsInHardware()
    {
        var field = typeof(Simd).GetField(nameof(Simd.Width));
        Assert.NotNull(field);
        Assert.True(field.IsInitOnly, "Simd.Width must be a static readonly field, chosen once.");
        Assert.True(Simd.Width <= Simd.HardwareWidth);
        Assert.True(Simd.IsAccelerated(Simd.Width));
        Assert.True(Simd.IsAccelerated(SimdWidth.Scalar));
        Assert.Equal(Simd.Choose(Environment.GetEnvironmentVariable(Simd.WidthVariable),
            Environment.GetEnvironmentVariable(Simd.AliasVariable), Simd.HardwareWidth), Simd.Width);
    }

    [Fact]
    public void NamesRoundTrip()
    {
        foreach (var width in Simd.AllWidths) Assert.Equal(width, Simd.Parse(Simd.Name(width)));
        Assert.Equal([SimdWidth.Scalar, SimdWidth.Vector128, SimdWidth.Vector256, SimdWidth.Vector512], Simd.AllWidths);
    }
}
