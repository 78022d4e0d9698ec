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
    /// Runs <paramref name="body"/>.Run(chunk, i0, i1) for each of <paramref name="chunks"/> contiguous ranges
    /// [⌊c·count/chunks⌋, ⌊(c+1)·count/chunks⌋) of <paramref name="count"/> items, the chunks spread over up to
    /// <paramref name="threads"/> threads (the GEMM workers; inline when they are busy or this is already a part of a
    /// parallel region). The ranges depend only on the counts, never on the threads. The body is a struct (its fields
    /// the arguments), so a call allocates nothing.
    /// </summary>
    public static void ForEachChunk<TBody>(int threads, int chunks, int count, in TBody body) where TBody : struct, IChunkBody
    {
        int parts = Math.Min(threads, chunks);
        if (parts <= 1)
            for (int c = 0; c < chunks; c++) body.Run(c, Start(c, chunks, count), Start(c + 1, chunks, count));
        else
            GemmWorkers.Run(parts, new Job<TBody>(body, chunks, count, parts));
    }

    private static int Start(int chunk, int chunks, int count) => (int)((long)chunk * count / chunks);

    // Part p runs chunks p, p + parts, p + 2·parts, ...
    private readonly struct Job<TBody>(TBody body, int chunks, int count, int parts) : IPartJob where TBody : struct, IChunkBody
    {
        public void Run(int part)
        {
            for (int c = part; c < chunks; c += parts) body.Run(c, Start(c, chunks, count), Start(c + 1, chunks, count));
        }
    }
}

/// <summary>Work on a contiguous range of items: chunk <c>chunk</c> is items [first, last).</summary>
internal interface IChunkBody
{
    /// <summary>Does items [<paramref name="first"/>, <paramref name="last"/>), chunk number <paramref name="chunk"/>.</summary>
    void Run(int chunk, int first, int last);
}
