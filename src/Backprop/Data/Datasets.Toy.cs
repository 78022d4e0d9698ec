namespace Backprop.Data;

public static partial class Datasets
{
    private static readonly string[] BinaryClasses = ["0", "1"];
    private static readonly string[] PlaneFeatures = ["x1", "x2"];

    /// <summary>The four inputs (0,0), (0,1), (1,0), (1,1) with labels x1 XOR x2: not linearly separable.</summary>
    public static Dataset Xor() => Boolean("xor", [0, 1, 1, 0]);

    /// <summary>The four boolean inputs with labels x1 AND x2.</summary>
    public static Dataset And() => Boolean("and", [0, 0, 0, 1]);

    /// <summary>The four boolean inputs with labels x1 OR x2.</summary>
    public static Dataset Or() => Boolean("or", [0, 1, 1, 1]);

    private static Dataset Boolean(string name, float[] labels) =>
        new(Tensor.FromArray([0, 0, 0, 1, 1, 0, 1, 1], 4, 2), Tensor.FromArray(labels), PlaneFeatures, BinaryClasses, name);

    /// <summary>
    /// Interleaved spiral arms in the plane (the CS231n toy problem), rows grouped by class. For class j and
    /// i = 0..n−1: r = i/(n−1), θ = 4j + 4·i/(n−1) + noise·N(0,1), point = (r·sin θ, r·cos θ).
    /// </summary>
    public static Dataset Spirals(int samplesPerClass = 100, int classes = 2, float noise = 0.2f, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(samplesPerClass, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        CheckNoise(noise);
        var rng = new Rng(seed);
        int n = samplesPerClass;
        var x = new float[classes * n * 2];
        var y = new float[classes * n];
        for (int j = 0; j < classes; j++)
            for (int i = 0; i < n; i++)
            {
                double r = Linspace(0, 1, n, i);
                double theta = Linspace(4 * j, 4 * (j + 1), n, i) + noise * rng.NextNormal();
                int row = j * n + i;
                x[2 * row] = (float)(r * Math.Sin(theta));
                x[2 * row + 1] = (float)(r * Math.Cos(theta));
                y[row] = j;
            }
        var names = Enumerable.Range(0, classes).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        return new Dataset(Tensor.FromArray(x, classes * n, 2), Tensor.FromArray(y), PlaneFeatures, names, "spirals");
    }

    /// <summary>
    /// Two concentric circles (scikit-learn's <c>make_circles</c>), rows grouped by class: ⌊samples/2⌋ points
    /// evenly spaced on the unit circle (class 0), the rest on a circle of radius <paramref name="factor"/>
    /// (class 1), each coordinate plus noise·N(0,1).
    /// </summary>
    public static Dataset Circles(int samples = 200, float noise = 0.05f, float factor = 0.5f, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(samples, 2);
        CheckNoise(noise);
        if (!(factor >= 0f && factor < 1f))
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "Circles: the inner circle's scale must be in [0, 1).");
        int nOut = samples / 2, nIn = samples - nOut;
        var rng = new Rng(seed);
        var x = new float[samples * 2];
        var y = new float[samples];
        for (int i = 0; i < samples; i++)
        {
            bool outer = i < nOut;
            int k = outer ? i : i - nOut, count = outer ? nOut : nIn;
            double angle = 2 * Math.PI * k / count;  // endpoint excluded: 2π would repeat 0
            double radius = outer ? 1 : factor;
            x[2 * i] = (float)(radius * Math.Cos(angle) + noise * rng.NextNormal());
            x[2 * i + 1] = (float)(radius * Math.Sin(angle) + noise * rng.NextNormal());
            y[i] = outer ? 0 : 1;
        }
        return new Dataset(Tensor.FromArray(x, samples, 2), Tensor.FromArray(y), PlaneFeatures, BinaryClasses, "circles");
    }

    /// <summary>
    /// Two interleaving half circles (scikit-learn's <c>make_moons</c>), rows grouped by class: ⌊samples/2⌋ points
    /// (cos t, sin t) for t evenly in [0, π] (class 0), the rest (1 − cos t, 0.5 − sin t) (class 1), each coordinate
    /// plus noise·N(0,1).
    /// </summary>
    public static Dataset Moons(int samples = 200, float noise = 0.1f, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(samples, 2);
        CheckNoise(noise);
        int nOut = samples / 2, nIn = samples - nOut;
        var rng = new Rng(seed);
        var x = new float[samples * 2];
        var y = new float[samples];
        for (int i = 0; i < samples; i++)
        {
            bool upper = i < nOut;
            double t = upper ? Linspace(0, Math.PI, nOut, i) : Linspace(0, Math.PI, nIn, i - nOut);
            double px = upper ? Math.Cos(t) : 1 - Math.Cos(t);
            double py = upper ? Math.Sin(t) : 0.5 - Math.Sin(t);
            x[2 * i] = (float)(px + noise * rng.NextNormal());
            x[2 * i + 1] = (float)(py + noise * rng.NextNormal());
            y[i] = upper ? 0 : 1;
        }
        return new Dataset(Tensor.FromArray(x, samples, 2), Tensor.FromArray(y), PlaneFeatures, BinaryClasses, "moons");
    }

    // numpy.linspace(a, b, n)[i], endpoint included; a single point sits at a.
    private static double Linspace(double a, double b, int n, int i) => n == 1 ? a : a + (b - a) * i / (n - 1);

    private static void CheckNoise(float noise)
    {
        if (!(noise >= 0f) || !float.IsFinite(noise))
            throw new ArgumentOutOfRangeException(nameof(noise), noise, "the noise scale must be finite and non-negative.");
    }
}
