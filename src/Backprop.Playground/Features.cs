namespace Backprop.Playground;

/// <summary>
/// The network's inputs. Points with two input columns (the plane: every generated set, and a CSV of two features)
/// feed the features TensorFlow Playground offers, computed from (x1, x2); points with k &gt; 2 columns feed the k
/// columns as they are, since x1², sin x1, … are transforms of the plane's two coordinates and a k-column file has no
/// one plane.
/// </summary>
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

    /// <summary>How many inputs the network has for points of <paramref name="columns"/> input columns.</summary>
    public static int Count(IReadOnlyList<string> names, int columns) => columns == 2 ? names.Count : columns;

    /// <summary>
    /// [count, <see cref="Count"/>] row-major: each point's inputs, from k input columns of one value per point
    /// (<paramref name="names"/> of the two columns when k = 2, the k columns themselves when k &gt; 2).
    /// </summary>
    public static float[] Matrix(IReadOnlyList<string> names, IReadOnlyList<float[]> columns)
    {
        int rows = columns[0].Length, width = Count(names, columns.Count);
        var m = new float[rows * width];
        for (int i = 0; i < rows; i++)
            for (int f = 0; f < width; f++)
                m[i * width + f] = columns.Count == 2 ? Compute(names[f], columns[0][i], columns[1][i]) : columns[f][i];
        return m;
    }
}
