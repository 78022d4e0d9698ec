namespace Backprop.Nn;

/// <summary>
/// Fills a weight tensor given its fan-in and fan-out, drawing from <paramref name="rng"/>: an in-place write, counted
/// in <see cref="Tensor.Version"/>.
/// </summary>
public delegate void Initializer(Tensor weight, int fanIn, int fanOut, Rng rng);

/// <summary>
/// Weight initializers, all seeded. Layers created without an explicit generator draw from
/// <see cref="DefaultRng"/>, which <see cref="ManualSeed"/> resets (like <c>torch.manual_seed</c>).
/// </summary>
public static class Init
{
    [ThreadStatic] private static Rng? defaultRng;

    /// <summary>The generator used by layers created without one (per thread, seeded with 0 until reseeded).</summary>
    public static Rng DefaultRng => defaultRng ??= new Rng(0);

    /// <summary>Reseeds <see cref="DefaultRng"/> so that the next models built on this thread are reproducible.</summary>
    public static void ManualSeed(long seed) => defaultRng = new Rng(seed);

    /// <summary>
    /// A new trainable tensor of <paramref name="shape"/> filled by <paramref name="init"/> (default <see cref="Default"/>)
    /// for the given fans: what every layer's constructor makes its weights and biases with.
    /// </summary>
    internal static Tensor Parameter(int[] shape, int fanIn, int fanOut, Rng rng, Initializer? init = null)
    {
        var p = Tensor.Zeros(shape);
        (init ?? Default)(p, fanIn, fanOut, rng);
        p.RequiresGrad = true;
        return p;
    }

    /// <summary>U(−1/√fanIn, 1/√fanIn): PyTorch's default for linear layers.</summary>
    public static Initializer Default { get; } = (w, fanIn, _, rng) => FillUniform(w, 1f / MathF.Sqrt(Math.Max(1, fanIn)), rng);

    /// <summary>Glorot/Xavier uniform: U(−a, a), a = gain·√(6 / (fanIn + fanOut)). Suits tanh and sigmoid.</summary>
    public static Initializer XavierUniform(float gain = 1f) =>
        (w, fanIn, fanOut, rng) => FillUniform(w, gain * MathF.Sqrt(6f / Math.Max(1, fanIn + fanOut)), rng);

    /// <summary>Glorot/Xavier normal: N(0, σ²), σ = gain·√(2 / (fanIn + fanOut)).</summary>
    public static Initializer XavierNormal(float gain = 1f) =>
        (w, fanIn, fanOut, rng) => FillNormal(w, 0f, gain * MathF.Sqrt(2f / Math.Max(1, fanIn + fanOut)), rng);

    /// <summary>He/Kaiming uniform for ReLU: U(−a, a), a = √(6 / fanIn).</summary>
    public static Initializer HeUniform { get; } = (w, fanIn, _, rng) => FillUniform(w, MathF.Sqrt(6f / Math.Max(1, fanIn)), rng);

    /// <summary>He/Kaiming normal for ReLU: N(0, 2 / fanIn).</summary>
    public static Initializer HeNormal { get; } = (w, fanIn, _, rng) => FillNormal(w, 0f, MathF.Sqrt(2f / Math.Max(1, fanIn)), rng);

    /// <summary>U(low, high).</summary>
    public static Initializer Uniform(float low, float high) => (w, _, _, rng) =>
    {
        var s = w.AsSpan();
        for (int i = 0; i < s.Length; i++) s[i] = low + (high - low) * rng.NextFloat();
        w.MarkWritten();
    };

    /// <summary>N(mean, std²).</summary>
    public static Initializer Normal(float mean = 0f, float std = 1f) => (w, _, _, rng) => FillNormal(w, mean, std, rng);

    /// <summary>Every value set to <paramref name="value"/>.</summary>
    public static Initializer Constant(float value) => (w, _, _, _) =>
    {
        w.AsSpan().Fill(value);
        w.MarkWritten();
    };

    /// <summary>All zeros.</summary>
    public static Initializer Zeros { get; } = Constant(0f);

    /// <summary>An initializer by name: default, xavier, xavier_normal, he, he_normal, zeros.</summary>
    public static Initializer ByName(string name) => name.ToLowerInvariant() switch
    {
        "default" => Default,
        "xavier" or "glorot" or "xavier_uniform" => XavierUniform(),
        "xavier_normal" or "glorot_normal" => XavierNormal(),
        "he" or "kaiming" or "he_uniform" => HeUniform,
        "he_normal" or "kaiming_normal" => HeNormal,
        "zeros" => Zeros,
        _ => throw new ArgumentException($"unknown initializer '{name}'; expected one of: default, xavier, xavier_normal, he, he_normal, zeros."),
    };

    private static void FillUniform(Tensor w, float bound, Rng rng)
    {
        var s = w.AsSpan();
        for (int i = 0; i < s.Length; i++) s[i] = (2f * rng.NextFloat() - 1f) * bound;
        w.MarkWritten();
    }

    private static void FillNormal(Tensor w, float mean, float std, Rng rng)
    {
        var s = w.AsSpan();
        for (int i = 0; i < s.Length; i++) s[i] = mean + std * rng.NextNormal();
        w.MarkWritten();
    }
}
