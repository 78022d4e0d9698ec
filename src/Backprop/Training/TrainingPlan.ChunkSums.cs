using System.Numerics.Tensors;

namespace Backprop.Training;

internal sealed partial class TrainingPlan
{
    // A convolution stage's gradients come as one partial per chunk of images; chunks are fixed by the batch size
    // alone, and the partials are added in chunk order, so results never depend on the thread count.

    /// <summary>Σ of the first <paramref name="used"/> partials, added in chunk order into partials[0], which it returns.</summary>
    private static float[] SumChunks(float[][] partials, int used)
    {
        var sum = partials[0];
        for (int i = 1; i < used; i++) TensorPrimitives.Add(sum, partials[i], sum);
        return sum;
    }

    /// <summary>The bias gradient from its chunk partials: db = Σ, or db += Σ after an earlier use of a shared layer.</summary>
    private static void PublishBiasGradient(GradientUse bias, float[][] partials, int used)
    {
        var sum = SumChunks(partials, used);
        var dbias = bias.Span;
        if (bias.Accumulate) TensorPrimitives.Add(dbias, sum, dbias);
        else sum.CopyTo(dbias);
        bias.Publish();
    }
}
