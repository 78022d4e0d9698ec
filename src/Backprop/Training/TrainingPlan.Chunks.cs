using System.Numerics.Tensors;
using Backprop.Kernels;

namespace Backprop.Training;

internal sealed partial class TrainingPlan
{
    // The convolution stages (ConvStage, ConvTransposeStage) cut a batch into chunks of whole images, fixed by the
    // layer and the batch size alone; their parts (one per thread) take every parts-th chunk, and each chunk leaves its
    // own gradient partials, added in chunk order, so results never depend on the thread count.

    // Bytes of one chunk's col block (ConvTransposeStage writes col out in both passes): well inside a 1 MB L2 beside
    // the GEMM's packed panels.
    private const int ColBlockBytes = 384 * 1024;

    // A convolution (ConvStage) packs col's strips straight from the images and writes only backward's dcol (dZ·Wrᵀ,
    // read back at once by col2im), so its chunks may be larger: up to this many bytes of dcol (a Zen 5 core's L2), in
    // at least MinConvChunks chunks per batch for the cores to share. Larger chunks give its GEMMs more rows per packing
    // of Wr and leave fewer gradient partials to add: on the reference CNN at batch 64 (chunks of 4 images instead of
    // 1), the step ran 11% faster at 512 bits and 4% on the AVX2 paths; 512 KB (2 images in the second layer) gained
    // 5% and 0.5%.
    private const int ConvBlockBytes = 1024 * 1024;
    private const int MinConvChunks = 16;

    /// <summary>
    /// Images per chunk: as many as keep a chunk's col block near <paramref name="blockBytes"/>, and few enough that a
    /// batch makes min(batch, <paramref name="minChunks"/>) chunks for the cores to share.
    /// </summary>
    private static int ImagesPerChunk(int colFloatsPerImage, int maxBatch, int blockBytes = ColBlockBytes,
        int minChunks = ConvParallel.MaxReductionChunks)
    {
        int most = Math.Clamp(blockBytes / (colFloatsPerImage * sizeof(float)), 1, maxBatch);
        return Math.Min(most, (maxBatch + minChunks - 1) / minChunks);
    }

    /// <summary>Grows <paramref name="blocks"/> to at least <paramref name="count"/> scratch blocks of <paramref name="size"/> floats (one per part).</summary>
    /// <remarks>A loop rather than a lambda: a lambda capturing <paramref name="size"/> would allocate its closure at every call.</remarks>
    private static void EnsureBlocks(ref float[][] blocks, int count, int size)
    {
        if (blocks.Length >= count) return;
        int had = blocks.Length;
        Array.Resize(ref blocks, count);
        for (int i = had; i < count; i++) blocks[i] = new float[size];
    }

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
