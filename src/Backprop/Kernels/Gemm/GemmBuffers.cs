using System.Runtime.CompilerServices;

namespace Backprop.Kernels;

/// <summary>
/// Per-thread packing buffers for GEMM (and the padded image of a small convolution), grown on demand and then reused: no allocation per call in steady state.
/// Arrays are pinned (allocated on the pinned-object heap) so that raw pointers into them stay valid.
/// </summary>
internal static unsafe class GemmBuffers
{
    private const int Align = 64;   // bytes: one cache line, the width of a Vector512 load

    [ThreadStatic] private static float[]? t_a;
    [ThreadStatic] private static float[]? t_b;
    [ThreadStatic] private static float[]? t_image;

    /// <summary>A 64-byte aligned buffer of at least <paramref name="floats"/> floats for packed A.</summary>
    public static float* A(int floats) => Get(ref t_a, floats);

    /// <summary>A 64-byte aligned buffer of at least <paramref name="floats"/> floats for packed B.</summary>
    public static float* B(int floats) => Get(ref t_b, floats);

    /// <summary>A 64-byte aligned buffer of at least <paramref name="floats"/> floats for a padded image (<see cref="SmallConv"/>).</summary>
    public static float* Image(int floats) => Get(ref t_image, floats);

    private static float* Get(ref float[]? buffer, int floats)
    {
        int needed = floats + Align / sizeof(float);
        if (buffer is null || buffer.Length < needed)
            buffer = GC.AllocateUninitializedArray<float>(needed, pinned: true);
        nint address = (nint)Unsafe.AsPointer(ref buffer[0]);
        return (float*)((address + Align - 1) & ~(nint)(Align - 1));
    }
}
