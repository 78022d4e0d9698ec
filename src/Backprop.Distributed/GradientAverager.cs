namespace Backprop.Distributed;

/// <summary>
/// Averages gradients over the ranks, for <c>Fit</c> (through <see cref="DataParallel"/>) or a training loop of your
/// own (call <see cref="Average"/> after <c>Backward()</c>, before <c>optimizer.Step()</c>). The gradients of the
/// trained parameters, taken in reverse order (the order backward finishes them, as PyTorch's DDP does), are
/// treated as one vector cut into buckets of <see cref="BucketElements"/> floats; each bucket is one allreduce,
/// issued in the same order on every rank. Each Grad becomes (Σ_r Grad_r) / N.
/// </summary>
public sealed class GradientAverager
{
    private readonly ICommunicator communicator;
    private readonly Tensor[] parameters;
    private readonly float[] bucket;

    /// <summary>Creates an averager of <paramref name="parameters"/>' gradients.</summary>
    /// <param name="communicator">The ranks.</param>
    /// <param name="parameters">The trained parameters, in the same order on every rank (e.g. <c>optimizer.Parameters</c>).</param>
    /// <param name="bucketBytes">Bytes per allreduce (default 25 MiB, DDP's): fewer, larger messages cost less latency.</param>
    public GradientAverager(ICommunicator communicator, IReadOnlyList<Tensor> parameters, int bucketBytes = DefaultBucketBytes)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentNullException.ThrowIfNull(parameters);
        if (bucketBytes < sizeof(float))
            throw new ArgumentOutOfRangeException(nameof(bucketBytes), bucketBytes, $"the bucket must hold at least one float (4 bytes) but is {bucketBytes} bytes.");
        this.communicator = communicator;
        this.parameters = [.. parameters.Reverse()];
        long total = this.parameters.Sum(p => (long)p.Size);
        bucket = new float[(int)Math.Max(1, Math.Min(bucketBytes / sizeof(float), total))];
        BucketElements = bucketBytes / sizeof(float);
    }

    /// <summary>DDP's default bucket: 25 MiB.</summary>
    public const int DefaultBucketBytes = 25 << 20;

    /// <summary>Floats per allreduce.</summary>
    public int BucketElements { get; }

    /// <summary>Bytes the last <see cref="Average"/> allreduced (4 per element of every trained parameter).</summary>
    public long BytesPerStep { get; private set; }

    /// <summary>Allreduce calls the last <see cref="Average"/> issued.</summary>
    public int BucketsPerStep { get; private set; }

    /// <summary>
    /// Replaces each trained parameter's gradient by its mean over the ranks. A parameter that does not require a
    /// gradient is skipped (the ranks must agree on which); one with no gradient on this rank contributes zeros.
    /// </summary>
    public void Average()
    {
        int filled = 0, buckets = 0;
        long bytes = 0;
        int start = 0;   // the first parameter whose values are in the bucket
        int startOffset = 0;   // where in that parameter the bucket begins
        for (int i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            if (!p.RequiresGrad) continue;
            int offset = 0;
            while (offset < p.Size)
            {
                int n = Math.Min(p.Size - offset, bucket.Length - filled);
                var target = bucket.AsSpan(filled, n);
                if (p.Grad is { } g) g.AsSpan().Slice(offset, n).CopyTo(target);
                else target.Clear();
                filled += n;
                offset += n;
                if (filled == bucket.Length)
                {
                    Flush(filled, start, startOffset);
                    buckets++;
                    bytes += filled * sizeof(float);
                    filled = 0;
                    (start, startOffset) = offset == p.Size ? (i + 1, 0) : (i, offset);
                }
            }
        }
        if (filled > 0)
        {
            Flush(filled, start, startOffset);
            buckets++;
            bytes += filled * sizeof(float);
        }
        (BytesPerStep, BucketsPerStep) = (bytes, buckets);
    }

    // Allreduces the bucket's first `filled` values and writes their means back, from parameter `start` at `offset` on.
    private void Flush(int filled, int start, int offset)
    {
        var values = bucket.AsSpan(0, filled);
        communicator.AllReduce(values);
        float n = communicator.Size;
        int read = 0;
        for (int i = start; read < filled && i < parameters.Length; i++, offset = 0)
        {
            var p = parameters[i];
            if (!p.RequiresGrad) continue;
            int count = Math.Min(p.Size - offset, filled - read);
            if (p.Grad is { } g)
            {
                // The sum over the ranks divided by their count, vectorised (the same bits as a division per value).
                System.Numerics.Tensors.TensorPrimitives.Divide(values.Slice(read, count), n, g.AsSpan().Slice(offset, count));
            }
            read += count;
        }
    }
}
