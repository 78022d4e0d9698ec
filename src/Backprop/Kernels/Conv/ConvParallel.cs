namespace Backprop.Kernels;

/// <summary>Splits a batch of independent items (images, channel planes) into contiguous chunks run in parallel.</summary>
internal static class ConvParallel
{
    /// <summary>
    /// Runs <paramref name="body"/>(chunk, i0, i1) for each of <paramref name="chunks"/> contiguous ranges
    /// [⌊c·count/chunks⌋, ⌊(c+1)·count/chunks⌋) of <paramref name="count"/> items, on up to
    /// <see cref="Gemm.MaxThreads"/> threads. The ranges depend only on the counts, never on the threads.
    /// </summary>
    public static void ForEachChunk(int chunks, int count, Action<int, int, int> body)
    {
        void Run(int c) => body(c, (int)((long)c * count / chunks), (int)((long)(c + 1) * count / chunks));
        if (chunks <= 1 || Gemm.MaxThreads <= 1)
            for (int c = 0; c < chunks; c++) Run(c);
        else
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Gemm.MaxThreads }, Run);
    }
}
