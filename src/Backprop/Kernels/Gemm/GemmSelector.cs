namespace Backprop.Kernels;

/// <summary>
/// Picks the GEMM variant at start-up from the process-wide <see cref="SimdWidth"/> (<see cref="Simd"/>): the widest
/// the hardware accelerates unless <c>BACKPROP_SIMD</c> (or its alias <c>BACKPROP_GEMM</c>) names a narrower one.
/// A request wider than the hardware runs is capped to what it does, so a setting never makes code crash.
/// </summary>
internal static class GemmSelector
{
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

    /// <summary>
    /// The variant of the process-wide <see cref="Simd.Width"/> (<c>BACKPROP_SIMD</c>, or its alias <c>BACKPROP_GEMM</c>,
    /// capped to the hardware), so that one setting forces GEMM and every other kernel alike.
    /// </summary>
    public static GemmVariant FromEnvironment() => FromWidth(Simd.Width);

    /// <summary>The micro-kernel of a width: scalar 4×4, or the 128-, 256- or 512-bit tile.</summary>
    public static GemmVariant FromWidth(SimdWidth width) => width switch
    {
        SimdWidth.Vector128 => GemmVariant.Vector128,
        SimdWidth.Vector256 => GemmVariant.Vector256,
        SimdWidth.Vector512 => GemmVariant.Vector512,
        _ => GemmVariant.Scalar,
    };

    /// <summary>The thread count from <c>BACKPROP_THREADS</c> if it is a positive integer, else the processor count.</summary>
    public static int ThreadsFromEnvironment() =>
        int.TryParse(Environment.GetEnvironmentVariable(ThreadsVariable), out int t) && t > 0 ? t : Environment.ProcessorCount;
}
