using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>Cache hints for the micro-kernels.</summary>
internal static unsafe class GemmPrefetch
{
    /// <summary>
    /// Asks for the C tile (rows × cols floats, rows ldc apart) to be brought into cache before the kc loop starts,
    /// so that its load and store after the loop hit. In a large product C does not stay in cache between k-blocks
    /// (n = 2048: 16 MB, rows 8 KB apart); without the hint each tile's 28 lines miss together at the end of the
    /// kernel, a memory latency per ~7,000 cycles of FMAs. A hint, never a fault: touches no memory it may not.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tile(float* c, nint ldc, int rows, int cols)
    {
        if (!Sse.IsSupported) return;
        for (int r = 0; r < rows; r++)
        {
            float* row = c + r * ldc;
            for (int j = 0; j < cols; j += 16) Sse.Prefetch0(row + j); // one per 64-byte line...
            Sse.Prefetch0(row + cols - 1);                             // ...and the last, when the row is not aligned
        }
    }
}
