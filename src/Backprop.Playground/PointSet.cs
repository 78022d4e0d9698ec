namespace Backprop.Playground;

/// <summary>
/// A session's points: <see cref="Inputs"/> holds k ≥ 2 input columns, each a value per point (the generated sets
/// have k = 2, the plane's x1 and x2 in [−6, 6]; an uploaded CSV has one column per feature, scaled onto [−5, 5]), a
/// label per point (±1 for two classes, 0..K−1 for K ≥ 3, or a regression target in [−1, 1]), and the task those
/// labels define.
/// </summary>
internal sealed record PointSet(float[][] Inputs, float[] Label, LearningTask Task)
{
    public int Count => Label.Length;

    /// <summary>k, the number of input columns.</summary>
    public int Columns => Inputs.Length;

    /// <summary>The points at <paramref name="indices"/>, in that order (a shuffle, or a train/test split).</summary>
    public PointSet Take(IReadOnlyList<int> indices) =>
        this with { Inputs = [.. Inputs.Select(c => indices.Select(i => c[i]).ToArray())], Label = [.. indices.Select(i => Label[i])] };
}
