namespace Backprop.Kernels;

/// <summary>Splits a batch of independent items (images, channel planes) into contiguous chunks run in parallel.</summary>
internal static class ConvParallel
{
    /// <summary>
    /// The most chunks a batch is cut into when each chunk leaves a partial sum (a weight gradient): the chunks are
    /// fixed by the batch alone, never by the machine, so the partials are added in the same order, and give the same
    /// bits, on any number of threads; 64 keeps up to 64 cores busy.
    /// </summary>
    public const int MaxReductionChunks = 64;

    /// <summary>
    /// Runs <paramref name="body"/>(chunk, i0, i1) for each of <paramref name="chunks"/> contiguous ranges
    /// [⌊c·count/chunks⌋, ⌊(c+1)·count/chunks⌋) of <paramref name="count"/> items, the chunks spread over up to
    /// <paramref name="threads"/> threads (the GEMM workers; inline when they are busy or this is already a part of a
    /// parallel region). The ranges depend only on the counts, never on the threads.
    /// </summary>
    public static void ForEachChunk(int threads, int chunks, int count, Action<int, int, int> body)
    {
        void Run(int c) => body(c, (int)((long)c * count / chunks), (int)((long)(c + 1) * count / chunks));
        int parts = Math.Min(threads, chunks);
        if (parts <= 1)
            for (int c = 0; c < chunks; c++) Run(c);
        else
            GemmWorkers.Run(parts, part =>
            {
                for (int c = part; c < chunks; c += parts) Run(c);
            });
    }
}
