namespace Backprop;

/// <summary>
/// A small, seeded pseudo-random generator (xoshiro128** seeded through SplitMix64). The same seed gives the same
/// sequence on every machine and .NET version, and its state can be saved and restored, which is what makes
/// training runs reproducible bit for bit.
/// </summary>
public sealed class Rng
{
    private uint s0, s1, s2, s3;

    /// <summary>Creates a generator from a seed.</summary>
    public Rng(long seed)
    {
        ulong x = (ulong)seed;
        ulong a = SplitMix(ref x), b = SplitMix(ref x);
        s0 = (uint)a; s1 = (uint)(a >> 32); s2 = (uint)b; s3 = (uint)(b >> 32);
        if ((s0 | s1 | s2 | s3) == 0) s0 = 1;
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 32 random bits.</summary>
    public uint NextUInt()
    {
        uint result = uint.RotateLeft(s1 * 5, 7) * 9;
        uint t = s1 << 9;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
        s2 ^= t;
        s3 = uint.RotateLeft(s3, 11);
        return result;
    }

    /// <summary>A float uniformly distributed in [0, 1).</summary>
    public float NextFloat() => (NextUInt() >> 8) * (1f / (1 << 24));

    /// <summary>A double uniformly distributed in [0, 1).</summary>
    public double NextDouble() => (((ulong)NextUInt() << 21) ^ (NextUInt() >> 11)) * (1.0 / (1UL << 53));

    /// <summary>An integer uniformly distributed in [0, maxExclusive).</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "must be positive");
        return (int)(((ulong)NextUInt() * (ulong)maxExclusive) >> 32);
    }

    /// <summary>A standard normal sample (Box–Muller).</summary>
    public float NextNormal()
    {
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A permutation of 0..n−1.</summary>
    public int[] Permutation(int n)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        Shuffle(p.AsSpan());
        return p;
    }

    /// <summary>The generator's full state, for checkpoints.</summary>
    public (uint, uint, uint, uint) State
    {
        get => (s0, s1, s2, s3);
        set => (s0, s1, s2, s3) = value;
    }
}
