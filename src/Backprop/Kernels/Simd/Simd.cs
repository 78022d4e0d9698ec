using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// The one vector width every kernel of the process runs at, chosen once at start-up: the widest the hardware
/// accelerates, or a narrower one named by the environment variable <c>BACKPROP_SIMD</c> (<c>scalar</c>, <c>v128</c>,
/// <c>v256</c> or <c>v512</c>; <c>BACKPROP_GEMM</c> is read as an alias when <c>BACKPROP_SIMD</c> is not set).
/// A request wider than the hardware accelerates is capped to what it does, so a setting never makes code crash or
/// run emulated. The GEMM micro-kernel (<see cref="Gemm.Variant"/>) follows the same setting.
/// </summary>
public static class Simd
{
    /// <summary>Name of the environment variable that forces a width for every kernel.</summary>
    public const string WidthVariable = "BACKPROP_SIMD";

    /// <summary>The older name, read when <see cref="WidthVariable"/> is not set.</summary>
    public const string AliasVariable = "BACKPROP_GEMM";

    /// <summary>The width every kernel runs at in this process.</summary>
    public static readonly SimdWidth Width = FromEnvironment();

    /// <summary>The widest width this machine runs in hardware (on ARM64 <see cref="SimdWidth.Vector128"/>).</summary>
    public static SimdWidth HardwareWidth =>
        Vector512.IsHardwareAccelerated ? SimdWidth.Vector512
        : Vector256.IsHardwareAccelerated ? SimdWidth.Vector256
        : Vector128.IsHardwareAccelerated ? SimdWidth.Vector128
        : SimdWidth.Scalar;

    /// <summary>All widths, narrowest first. Every one runs anywhere (wider than the hardware, in software), which is how tests check every path on one machine.</summary>
    public static IReadOnlyList<SimdWidth> AllWidths { get; } = Enum.GetValues<SimdWidth>();

    /// <summary>Whether <paramref name="width"/> runs in hardware on this machine.</summary>
    public static bool IsAccelerated(SimdWidth width) => width <= HardwareWidth;

    /// <summary>The width the environment asks for (see <see cref="Simd"/>), capped to <see cref="HardwareWidth"/>; read again on each call.</summary>
    internal static SimdWidth FromEnvironment() =>
        Choose(Environment.GetEnvironmentVariable(WidthVariable), Environment.GetEnvironmentVariable(AliasVariable), HardwareWidth);

    /// <summary>
    /// The width named by <paramref name="setting"/> (or, when that is not set, by <paramref name="alias"/>), capped to
    /// <paramref name="hardware"/>; the hardware's own width when neither names a width.
    /// </summary>
    internal static SimdWidth Choose(string? setting, string? alias, SimdWidth hardware)
    {
        SimdWidth? requested = Parse(setting ?? alias);
        return requested is { } w && w < hardware ? w : hardware;
    }

    /// <summary><c>scalar</c>, <c>v128</c>, <c>v256</c> or <c>v512</c> (any case), else null.</summary>
    internal static SimdWidth? Parse(string? setting) => setting?.Trim().ToLowerInvariant() switch
    {
        "scalar" => SimdWidth.Scalar,
        "v128" => SimdWidth.Vector128,
        "v256" => SimdWidth.Vector256,
        "v512" => SimdWidth.Vector512,
        _ => null,
    };

    /// <summary>The short name used by <c>BACKPROP_SIMD</c> and printed by <c>backprop selftest</c>.</summary>
    public static string Name(SimdWidth width) => width switch
    {
        SimdWidth.Scalar => "scalar",
        SimdWidth.Vector128 => "v128",
        SimdWidth.Vector256 => "v256",
        SimdWidth.Vector512 => "v512",
        _ => throw new ArgumentOutOfRangeException(nameof(width), width, "expected Scalar, Vector128, Vector256 or Vector512."),
    };
}
