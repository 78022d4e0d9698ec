namespace Backprop.Onnx.Tests;

internal static class ModelAssert
{
    /// <summary>Every value within <paramref name="tolerance"/> (absolute), naming the first that is not.</summary>
    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        float worst = 0f;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            float d = MathF.Abs(expected[i] - actual[i]);
            if (!(d <= worst)) (worst, at) = (d, i);
        }
        Assert.True(worst <= tolerance, $"value {at}: expected {(at >= 0 ? expected[at] : 0)} but got {(at >= 0 ? actual[at] : 0)} (difference {worst}, tolerance {tolerance})");
    }

    /// <summary>A batch of <paramref name="n"/> examples of <paramref name="sample"/> with values N(0, scale²).</summary>
    public static Tensor Batch(int n, int[] sample, int seed, float scale = 1f) =>
        Tensor.RandomNormal([n, .. sample], seed, 0f, scale);
}
