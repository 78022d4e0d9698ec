namespace Backprop.Kernels;

/// <summary>
/// Picks the GEMM variant at start-up: the widest one the hardware accelerates, unless the environment variable
/// <c>BACKPROP_GEMM</c> (<c>scalar</c>, <c>v128</c>, <c>v256</c> or <c>v512</c>) asks for another. A requested
/// variant the hardware cannot run falls back to the best supported one, so a setting never makes code crash.
/// </summary>
internal static class GemmSelector
{
    /// <summary>Name of the environment variable that forces a variant.</summary>
    public const string VariantVariable = "BACKPROP_GEMM";

    /// <summary>Name of the environment variable that sets the GEMM thread count.</summary>
    public const string ThreadsVariable = "BACKPROP_THREADS";

    /// <summary>Whether <paramref name="variant"/> runs in hardware on this machine.</summary>
    public static bool IsSupported(GemmVariant variant) => variant switch
    {
        GemmVariant.Scalar => MicroKernelScalar.IsSupported,
        GemmVariant.Vector128 => MicroKernel128.IsSupported,
        GemmVariant.Vector256 => MicroKernel256.IsSupported,
        GemmVariant.Vector512 => MicroKernel512.IsSupported,
        _ => false,
    };

    /// <summary>The widest supported variant.</summary>
    public static GemmVariant Best =>
        IsSupported(GemmVariant.Vector512) ? GemmVariant.Vector512
        : IsSupported(GemmVariant.Vector256) ? GemmVariant.Vector256
        : IsSupported(GemmVariant.Vector128) ? GemmVariant.Vector128
        : GemmVariant.Scalar;

    /// <summary>All variants supported here, narrowest first.</summary>
    public static GemmVariant[] Supported =>
        [.. Enum.GetValues<GemmVariant>().Where(IsSupported)];

    /// <summary>The variant named by <c>BACKPROP_GEMM</c> if set and supported, else <see cref="Best"/>.</summary>
    public static GemmVariant FromEnvironment()
    {
        GemmVariant? requested = Environment.GetEnvironmentVariable(VariantVariable)?.Trim().ToLowerInvariant() switch
        {
            "scalar" => GemmVariant.Scalar,
            "v128" => GemmVariant.Vector128,
            "v256" => GemmVariant.Vector256,
            "v512" => GemmVariant.Vector512,
            _ => null,
        };
        return requested is { } v && IsSupported(v) ? v : Best;
    }

    /// <summary>The thread count from <c>BACKPROP_THREADS</c> if it is a positive integer, else the processor count.</summary>
    public static int ThreadsFromEnvironment() =>
        int.TryParse(Environment.GetEnvironmentVariable(ThreadsVariable), out int t) && t > 0 ? t : Environment.ProcessorCount;
}
