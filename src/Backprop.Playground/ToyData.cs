namespace Backprop.Playground;

/// <summary>
/// TensorFlow Playground's datasets, as points in [-6, 6]²: four classification sets with labels ±1, two rings
/// (circle), four quadrants (xor), two Gaussian blobs (gauss) and two interleaved spirals (spiral); and two regression
/// sets with targets in [−1, 1], a tilted plane (plane) and six signed Gaussian bumps (multigauss).
/// </summary>
/// <remarks>Noise is a fraction in [0, 0.5]: it jitters the points (and widens the blobs) the way the reference page does.</remarks>
internal static class ToyData
{
    /// <summary>The dataset names, in the order the page lists them.</summary>
    public static readonly string[] Names = ["circle", "xor", "gauss", "spiral", "plane", "multigauss"];

    /// <summary>The generated set called <paramref name="name"/>, with its task.</summary>
    public static PointSet Generate(string name, int count, float noise, Random random)
    {
        if (name is "plane" or "multigauss")
        {
            var (rx, ry, target) = GenerateRegression(name, count, noise, random);
            return new PointSet([rx, ry], target, LearningTask.Regression);
        }
        var (x, y, label) = GenerateClasses(name, count, noise, random);
        return new PointSet([x, y], label, LearningTask.Binary);
    }

    /// <summary>
    /// <paramref name="count"/> points uniform in [−6, 6]² and their targets in [−1, 1]. plane: (x + y)/10;
    /// multigauss: of six bumps at (±4 or 0, ±2.5), each worth ±(1 − distance/2) within distance 2, the strongest.
    /// The target is read off the point jittered by up to noise·6 in each coordinate, as the reference page does.
    /// </summary>
    private static (float[] X, float[] Y, float[] Target) GenerateRegression(string name, int count, float noise, Random random)
    {
        var x = new float[count];
        var y = new float[count];
        var target = new float[count];
        float U(float lo, float hi) => lo + (float)random.NextDouble() * (hi - lo);
        ReadOnlySpan<(float X, float Y, float Sign)> bumps = [(-4, 2.5f, 1), (0, 2.5f, -1), (4, 2.5f, 1), (-4, -2.5f, -1), (0, -2.5f, 1), (4, -2.5f, -1)];
        for (int i = 0; i < count; i++)
        {
            float px = U(-Session.Extent, Session.Extent), py = U(-Session.Extent, Session.Extent);
            float jx = px + U(-Session.Extent, Session.Extent) * noise, jy = py + U(-Session.Extent, Session.Extent) * noise;
            x[i] = px; y[i] = py;
            if (name == "plane")
            {
                target[i] = Math.Clamp((jx + jy) / 10f, -1f, 1f);
                continue;
            }
            float best = 0;
            foreach (var b in bumps)
            {
                float d = MathF.Sqrt((jx - b.X) * (jx - b.X) + (jy - b.Y) * (jy - b.Y));
                float v = b.Sign * Math.Clamp(1 - d / 2, 0, 1);
                if (MathF.Abs(v) > MathF.Abs(best)) best = v;
            }
            target[i] = best;
        }
        return (x, y, target);
    }

    /// <summary><paramref name="count"/> points (x, y) and their labels (+1 or −1), shuffled.</summary>
    private static (float[] X, float[] Y, float[] Label) GenerateClasses(string name, int count, float noise, Random random)
    {
        var x = new float[count];
        var y = new float[count];
        var label = new float[count];
        float U(float lo, float hi) => lo + (float)random.NextDouble() * (hi - lo);
        for (int i = 0; i < count; i++)
        {
            bool positive = i < count / 2;
            int k = positive ? i : i - count / 2;       // index within its class
            int n = positive ? count / 2 : count - count / 2;
            switch (name)
            {
                case "circle":
                {
                    // Class +1 inside radius 2.5, class −1 on the ring 3.5..5; the label is read off the jittered point.
                    const float radius = 5f;
                    float r = positive ? U(0, radius * 0.5f) : U(radius * 0.7f, radius);
                    float a = U(0, 2 * MathF.PI);
                    float px = r * MathF.Sin(a), py = r * MathF.Cos(a);
                    float jx = U(-radius, radius) * noise, jy = U(-radius, radius) * noise;
                    x[i] = px; y[i] = py;
                    label[i] = MathF.Sqrt((px + jx) * (px + jx) + (py + jy) * (py + jy)) < radius * 0.5f ? 1 : -1;
                    break;
                }
                case "xor":
                {
                    // Uniform in [-5, 5]², pushed 0.3 away from the axes; the label is the sign of x·y.
                    float px = U(-5, 5), py = U(-5, 5);
                    px += px > 0 ? 0.3f : -0.3f;
                    py += py > 0 ? 0.3f : -0.3f;
                    float jx = U(-5, 5) * noise, jy = U(-5, 5) * noise;
                    x[i] = px; y[i] = py;
                    label[i] = (px + jx) * (py + jy) >= 0 ? 1 : -1;
                    break;
                }
                case "gauss":
                {
                    // Blobs at (2, 2) and (−2, −2); the variance grows from 0.5 (no noise) to 4 (noise 0.5).
                    float sd = MathF.Sqrt(0.5f + (4f - 0.5f) * noise / 0.5f);
                    float c = positive ? 2f : -2f;
                    x[i] = c + sd * Normal(random);
                    y[i] = c + sd * Normal(random);
                    label[i] = positive ? 1 : -1;
                    break;
                }
                default:
                {
                    // Spiral arm: radius grows linearly to 5 while the angle turns 1.75 times; the second arm is the
                    // first rotated by π.
                    float r = 5f * k / n;
                    float t = 1.75f * k / n * 2 * MathF.PI + (positive ? 0 : MathF.PI);
                    x[i] = r * MathF.Sin(t) + U(-1, 1) * noise;
                    y[i] = r * MathF.Cos(t) + U(-1, 1) * noise;
                    label[i] = positive ? 1 : -1;
                    break;
                }
            }
        }
        // Fisher–Yates, so that a train/test split by position takes both classes evenly.
        for (int i = count - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (x[i], x[j]) = (x[j], x[i]);
            (y[i], y[j]) = (y[j], y[i]);
            (label[i], label[j]) = (label[j], label[i]);
        }
        return (x, y, label);
    }

    internal static float Normal(Random random)
    {
        // Box–Muller; 1 − U keeps the logarithm's argument in (0, 1].
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}
