using System.Numerics;
using System.Runtime.CompilerServices;

namespace Backprop.Distributed;

/// <summary>
/// mean = sum / N over the ranks, vectorised, with the bits of a division per value: for N a power of two, 1/N is
/// exact and sum · (1/N) is the same correctly rounded value as sum / N, for a multiplication's price (a vector
/// division is slower in throughput, and may bound the pass rather than memory). Every path that forms a mean over
/// the ranks (<see cref="Divide(Span{float}, int)"/>, the shared-memory sum) applies this one <see cref="Divisor"/>.
/// </summary>
/// <remarks>
/// Compiled fully optimised at its first call (AggressiveOptimization): a rank that mpirun binds to one core may run
/// tier-0 code for a long time, and a quick-jitted loop over a megabyte of gradients costs several times the memory's
/// time.
/// </remarks>
internal static class RankMean
{
    /// <summary>Division by a rank count N, as a multiplication by 1/N when that gives the same bits.</summary>
    public readonly struct Divisor(int ranks)
    {
        private readonly bool multiply = BitOperations.IsPow2(ranks);
        private readonly float inverse = 1f / ranks;
        private readonly Vector<float> inverses = new(1f / ranks), divisors = new(ranks);

        public float Apply(float sum) => multiply ? sum * inverse : sum / ranks;

        public Vector<float> Apply(Vector<float> sum) => multiply ? sum * inverses : sum / divisors;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Divide(Span<float> values, int ranks)
    {
        if (ranks == 1) return;
        var divisor = new Divisor(ranks);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
                divisor.Apply(new Vector<float>(values[i..])).CopyTo(values[i..]);
        for (; i < values.Length; i++) values[i] = divisor.Apply(values[i]);
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
