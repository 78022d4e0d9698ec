using System.Numerics;
using System.Runtime.CompilerServices;

namespace Backprop.Distributed;

/// <summary>
/// mean = sum / N over the ranks, in place, vectorised, with the bits of a division per value: for N a power of two,
/// 1/N is exact and sum · (1/N) is the same correctly rounded value as sum / N, for a multiplication's price (a
/// vector division is slower in throughput, and may bound the pass rather than memory).
/// </summary>
/// <remarks>
/// Compiled fully optimised at its first call (AggressiveOptimization): a rank that mpirun binds to one core may run
/// tier-0 code for a long time, and a quick-jitted loop over a megabyte of gradients costs several times the memory's
/// time.
/// </remarks>
internal static class RankMean
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Divide(Span<float> values, int ranks)
    {
        if (ranks == 1) return;
        bool multiply = BitOperations.IsPow2(ranks);
        float inverse = 1f / ranks;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var inverses = new Vector<float>(inverse);
            var divisors = new Vector<float>(ranks);
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var sum = new Vector<float>(values[i..]);
                (multiply ? sum * inverses : sum / divisors).CopyTo(values[i..]);
            }
        }
        for (; i < values.Length; i++) values[i] = multiply ? values[i] * inverse : values[i] / ranks;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Divide(Span<double> values, int ranks)
    {
        if (ranks == 1) return;
        bool multiply = BitOperations.IsPow2(ranks);
        double inverse = 1.0 / ranks;
        for (int i = 0; i < values.Length; i++) values[i] = multiply ? values[i] * inverse : values[i] / ranks;
    }
}
