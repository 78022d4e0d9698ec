namespace Backprop.Playground;

/// <summary>
/// A session's points: coordinates (x1, x2) in the page's plane [−6, 6]², a label per point (±1 for two classes,
/// 0..K−1 for K ≥ 3, or a regression target in [−1, 1]), and the task those labels define.
/// </summary>
internal sealed record PointSet(float[] X1, float[] X2, float[] Label, LearningTask Task)
{
    public int Count => Label.Length;
}
