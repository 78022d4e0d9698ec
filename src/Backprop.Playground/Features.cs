namespace Backprop.Playground;

/// <summary>The input features TensorFlow Playground offers, computed from a point (x1, x2).</summary>
internal static class Features
{
    /// <summary>The feature names in the page's order: x1, x2, x1², x2², x1x2, sin x1, sin x2 (ASCII ids).</summary>
    public static readonly string[] Names = ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"];

    /// <summary>The feature called <paramref name="name"/> at (x1, x2).</summary>
    public static float Compute(string name, float x1, float x2) => name switch
    {
        "x1" => x1,
        "x2" => x2,
        "x1sq" => x1 * x1,
        "x2sq" => x2 * x2,
        "x1x2" => x1 * x2,
        "sinx1" => MathF.Sin(x1),
        "sinx2" => MathF.Sin(x2),
        _ => throw new ArgumentException($"unknown feature '{name}'"),
    };

    /// <summary>[count, features] row-major: each point's chosen features.</summary>
    public static float[] Matrix(IReadOnlyList<string> names, ReadOnlySpan<float> x1, ReadOnlySpan<float> x2)
    {
        var m = new float[x1.Length * names.Count];
        for (int i = 0; i < x1.Length; i++)
            for (int f = 0; f < names.Count; f++)
                m[i * names.Count + f] = Compute(names[f], x1[i], x2[i]);
        return m;
    }
}
