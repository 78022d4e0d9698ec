using Backprop.Optim;

namespace Backprop.Distributed;

/// <summary>
/// Averages gradients over the ranks, for <c>Fit</c> (through <see cref="DataParallel"/>) or a training loop of your
/// own (call <see cref="Average"/> after <c>Backward()</c>, before <c>optimizer.Step()</c>). The gradients of the
/// trained parameters, taken in reverse order (the order backward finishes them, as PyTorch's DDP does), are cut into
/// pieces of at most <see cref="BucketElements"/> floats; each bucket is one allreduce, issued in the same order on
/// every rank, as a <see cref="ReduceOperation.Mean"/>. Each Grad becomes (Σ_r Grad_r) / N, in its own storage.
/// </summary>
/// <remarks>
/// A piece of at least <see cref="InPlaceMinimumBytes"/> (or a whole bucket, if buckets are smaller) is a bucket of
/// its own, allreduced in place in the gradient's storage: no copy. Smaller pieces (biases, small layers) are gathered
/// into a staging buffer of up to a bucket, so that many small gradients cost one message rather than one each; their
/// means are copied back out of it. The communicator forms (Σ_r g_r) / N either way; staging only copies values and
/// changes no bits (an <see cref="MpiCommunicator"/> may add a large and a small message's values in different orders
/// when there are more than two ranks, as it takes them through shared memory or MPI_Allreduce). Which pieces go where depends only on the parameters' sizes, which of them are
/// trained, and the bucket size, so every rank issues the same allreduces in the same order.
/// <para>A tensor's storage is one whole array (<see cref="Tensor.AsSpan"/>), so gradients cannot be views into one
/// flat buffer; reducing each large gradient where it lies gives the same effect (no copy) for the bytes that matter.</para>
/// </remarks>
public sealed class GradientAverager
{
    private readonly ICommunicator communicator;
    private readonly Tensor[] parameters;   // reversed: parameters[i] is number Count − 1 − i of the list given
    private ParameterSlice[] owned = [];
    private readonly bool[] trained;   // each parameter's RequiresGrad when the buckets were laid out
    private Segment[] segments = [];
    private Bucket[] buckets = [];
    private float[] staging = [];
    private float[] zeros = [];        // an in-place piece's contribution on a rank where its parameter has no gradient

    // Elements [Offset, Offset + Count) of parameter number Parameter's gradient.
    private readonly record struct Segment(int Parameter, int Offset, int Count);

    // One allreduce: segments [First, First + Count); InPlace: one segment reduced where it lies, else staged.
    private readonly record struct Bucket(int First, int Count, int Elements, bool InPlace);

    /// <summary>Creates an averager of <paramref name="parameters"/>' gradients.</summary>
    /// <param name="communicator">The ranks.</param>
    /// <param name="parameters">The trained parameters, in the same order on every rank (e.g. <c>optimizer.Parameters</c>).</param>
    /// <param name="bucketBytes">Most bytes per allreduce (default 25 MiB, DDP's): fewer, larger messages cost less latency.</param>
    public GradientAverager(ICommunicator communicator, IReadOnlyList<Tensor> parameters, int bucketBytes = DefaultBucketBytes)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentNullException.ThrowIfNull(parameters);
        if (bucketBytes < sizeof(float))
            throw new ArgumentOutOfRangeException(nameof(bucketBytes), bucketBytes, $"the bucket must hold at least one float (4 bytes) but is {bucketBytes} bytes.");
        this.communicator = communicator;
        this.parameters = [.. parameters.Reverse()];
        trained = new bool[this.parameters.Length];
        BucketElements = bucketBytes / sizeof(float);
        LayOut();
    }

    /// <summary>DDP's default bucket: 25 MiB.</summary>
    public const int DefaultBucketBytes = 25 << 20;

    /// <summary>
    /// A piece of a gradient this large (64 KiB) or larger is allreduced in place; smaller ones are staged together.
    /// Copying 64 KiB in and out costs about what one more message's latency costs on a fast network, so below it
    /// gathering saves more than it copies.
    /// </summary>
    public const int InPlaceMinimumBytes = 64 << 10;

    /// <summary>Most floats per allreduce.</summary>
    public int BucketElements { get; }

    /// <summary>
    /// Bytes the last <see cref="Average"/> or <see cref="ReduceScatter()"/> reduced (4 per element of every trained
    /// parameter, less those of parameters it was told were formed already).
    /// </summary>
    public long BytesPerStep { get; private set; }

    /// <summary>Collective calls (one per bucket) the last <see cref="Average"/> or <see cref="ReduceScatter()"/> issued.</summary>
    public int BucketsPerStep { get; private set; }

    /// <summary>
    /// Of <see cref="BytesPerStep"/>, the bytes of small gradients the last <see cref="Average"/> copied through the
    /// staging buffer (in, then their means out); every other byte was reduced in its gradient's own storage.
    /// </summary>
    public long StagedBytesPerStep { get; private set; }

    /// <summary>
    /// The values whose gradient means <see cref="ReduceScatter()"/> leaves on this rank: its part (<see cref="RankParts"/>)
    /// of every bucket, as slices of the parameters (indices into the list given to the constructor). The ranks'
    /// slices cover every trained value once.
    /// </summary>
    public ReadOnlySpan<ParameterSlice> OwnedSlices
    {
        get
        {
            if (TrainedChanged()) LayOut();
            return owned;
        }
    }

    /// <summary>
    /// The first half of <see cref="Average"/>: the gradient mean over the ranks of the values in
    /// <see cref="OwnedSlices"/> replaces their gradient, in place; the rest of each gradient is left unspecified
    /// (this rank's own, or partly reduced). For a sharded optimizer step: step the owned slices, then
    /// <see cref="AllGather"/> the parameters.
    /// </summary>
    /// <exception cref="InvalidOperationException">A gradient's size differs from its parameter's.</exception>
    public void ReduceScatter() => Reduce(scatterOnly: true, formed: default);

    /// <summary>
    /// <see cref="ReduceScatter()"/> for every parameter but those marked in <paramref name="formed"/> (indices into
    /// the list given to the constructor), whose owned values already hold the mean (formed from the ranks' shared
    /// factors, <see cref="DataParallel"/>); each of those must be reduced in place (<see cref="ReducesInPlace"/>).
    /// </summary>
    internal void ReduceScatter(ReadOnlySpan<bool> formed) => Reduce(scatterOnly: true, formed);

    /// <summary>
    /// Whether every piece of parameter <paramref name="index"/>'s gradient (of the list given to the constructor) is a
    /// bucket of its own, reduced in place: then its owned values (<see cref="OwnedSlices"/>) are its own, and a
    /// reduce-scatter may leave it out.
    /// </summary>
    internal bool ReducesInPlace(int index)
    {
        if (TrainedChanged()) LayOut();
        int reversed = parameters.Length - 1 - index;
        if ((uint)reversed >= (uint)parameters.Length || !trained[reversed]) return false;
        foreach (var bucket in buckets)
            for (int i = bucket.First; i < bucket.First + bucket.Count; i++)
                if (segments[i].Parameter == reversed && !bucket.InPlace) return false;
        return true;
    }

    /// <summary>
    /// Copies each rank's slices (its <see cref="OwnedSlices"/>) of the tensors <paramref name="valuesOf"/> gives
    /// into every other rank's, bucket by bucket as the gradients went: after a sharded step, with
    /// <c>i =&gt; parameters[i].AsSpan()</c>, every rank holds every rank's new values. A tensor must have its
    /// parameter's size; trained parameters only (the others' tensors are not asked for).
    /// </summary>
    /// <param name="valuesOf">The storage to share for parameter number i of the list given to the constructor.</param>
    /// <exception cref="InvalidOperationException">A tensor's size differs from its parameter's.</exception>
    public void AllGather(Func<int, Span<float>> valuesOf)
    {
        ArgumentNullException.ThrowIfNull(valuesOf);
        if (TrainedChanged()) LayOut();
        Span<float> Values(int i)
        {
            var values = valuesOf(parameters.Length - 1 - i);
            if (values.Length != parameters[i].Size)
                throw new InvalidOperationException($"a tensor of {values.Length} values was given for a parameter{(parameters[i].Name is null ? "" : $" '{parameters[i].Name}'")} of {parameters[i].Size}; AllGather needs them equal.");
            return values;
        }
        foreach (var bucket in buckets)
        {
            if (bucket.InPlace)
            {
                var s = segments[bucket.First];
                communicator.AllGather(Values(s.Parameter).Slice(s.Offset, s.Count));
                continue;
            }
            var staged = staging.AsSpan(0, bucket.Elements);
            int at = 0;
            for (int i = bucket.First; i < bucket.First + bucket.Count; i++)
            {
                var s = segments[i];
                Values(s.Parameter).Slice(s.Offset, s.Count).CopyTo(staged.Slice(at, s.Count));
                at += s.Count;
            }
            communicator.AllGather(staged);
            at = 0;
            for (int i = bucket.First; i < bucket.First + bucket.Count; i++)
            {
                var s = segments[i];
                staged.Slice(at, s.Count).CopyTo(Values(s.Parameter).Slice(s.Offset, s.Count));
                at += s.Count;
            }
        }
    }

    /// <summary>
    /// Replaces each trained parameter's gradient by its mean over the ranks, in place (the Grad tensors keep their
    /// storage). A parameter that does not require a gradient is skipped (the ranks must agree on which); one with no
    /// gradient on this rank contributes zeros and keeps no gradient.
    /// </summary>
    /// <exception cref="InvalidOperationException">A gradient's size differs from its parameter's.</exception>
    public void Average() => Reduce(scatterOnly: false, formed: default);

    // Average, or (scatterOnly) its reduce-scatter half: then a staged bucket's means go back for the owned values
    // only. An in-place bucket of a parameter marked in `formed` (indices as given) is left out.
    private void Reduce(bool scatterOnly, ReadOnlySpan<bool> formed)
    {
        if (TrainedChanged()) LayOut();
        long bytes = 0, staged = 0;
        int issued = 0;
        foreach (var bucket in buckets)
        {
            if (bucket.InPlace)
            {
                var s = segments[bucket.First];
                int given = parameters.Length - 1 - s.Parameter;
                if (given < formed.Length && formed[given]) continue;
                var grad = GradientOf(s.Parameter);
                if (grad is null)
                {
                    // This rank adds nothing to the sum, and keeps no gradient, as the parameter had none.
                    if (zeros.Length < s.Count) zeros = new float[s.Count];
                    zeros.AsSpan(0, s.Count).Clear();
                    Collective(zeros.AsSpan(0, s.Count), scatterOnly);
                }
                else
                {
                    Collective(grad.AsSpan().Slice(s.Offset, s.Count), scatterOnly);
                }
            }
            else
            {
                var values = staging.AsSpan(0, bucket.Elements);
                int at = 0;
                for (int i = bucket.First; i < bucket.First + bucket.Count; i++)
                {
                    var s = segments[i];
                    var target = values.Slice(at, s.Count);
                    if (GradientOf(s.Parameter) is { } grad) grad.AsSpan().Slice(s.Offset, s.Count).CopyTo(target);
                    else target.Clear();
                    at += s.Count;
                }
                Collective(values, scatterOnly);
                var (lo, hi) = scatterOnly ? RankParts.Of(bucket.Elements, communicator.Size, communicator.Rank) : (0, bucket.Elements);
                at = 0;
                for (int i = bucket.First; i < bucket.First + bucket.Count; i++)
                {
                    var s = segments[i];
                    // The piece's values [at, at + Count) of the staged bucket, those in [lo, hi) only.
                    int from = Math.Max(at, lo), to = Math.Min(at + s.Count, hi);
                    if (to > from && GradientOf(s.Parameter) is { } grad)
                        values[from..to].CopyTo(grad.AsSpan().Slice(s.Offset + from - at, to - from));
                    at += s.Count;
                }
                staged += bucket.Elements * sizeof(float);
            }
            bytes += bucket.Elements * sizeof(float);
            issued++;
        }
        (BytesPerStep, BucketsPerStep, StagedBytesPerStep) = (bytes, issued, staged);
    }

    private void Collective(Span<float> values, bool scatterOnly)
    {
        if (scatterOnly) communicator.ReduceScatter(values, ReduceOperation.Mean);
        else communicator.AllReduce(values, ReduceOperation.Mean);
    }

    private Tensor? GradientOf(int index)
    {
        var p = parameters[index];
        var grad = p.Grad;
        if (grad is not null && grad.Size != p.Size)
            throw new InvalidOperationException($"a parameter{(p.Name is null ? "" : $" '{p.Name}'")} of {p.Size} values has a gradient of {grad.Size} values; the averager needs them equal.");
        return grad;
    }

    private bool TrainedChanged()
    {
        for (int i = 0; i < parameters.Length; i++)
            if (parameters[i].RequiresGrad != trained[i]) return true;
        return false;
    }

    // Cuts the trained parameters' gradients (reverse order) into pieces of at most a bucket: a piece of at least
    // min(InPlaceMinimumBytes, bucket) is a bucket of its own, reduced in place; smaller pieces are gathered in order
    // into staged buckets, each issued when the next small piece would overflow it, and the last at the end.
    private void LayOut()
    {
        var pieces = new List<Segment>();
        var laid = new List<Bucket>();
        var small = new List<Segment>();
        int smallElements = 0, largestStaged = 0;
        int inPlaceMinimum = Math.Min(InPlaceMinimumBytes / sizeof(float), BucketElements);

        void IssueStaged()
        {
            if (small.Count == 0) return;
            laid.Add(new Bucket(pieces.Count, small.Count, smallElements, InPlace: false));
            pieces.AddRange(small);
            largestStaged = Math.Max(largestStaged, smallElements);
            small.Clear();
            smallElements = 0;
        }

        for (int i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            trained[i] = p.RequiresGrad;
            if (!p.RequiresGrad) continue;
            for (int offset = 0; offset < p.Size; offset += BucketElements)
            {
                int count = Math.Min(BucketElements, p.Size - offset);
                var piece = new Segment(i, offset, count);
                if (count >= inPlaceMinimum)
                {
                    laid.Add(new Bucket(pieces.Count, 1, count, InPlace: true));
                    pieces.Add(piece);
                    continue;
                }
                if (smallElements + count > BucketElements) IssueStaged();
                small.Add(piece);
                smallElements += count;
            }
        }
        IssueStaged();
        (segments, buckets) = ([.. pieces], [.. laid]);
        if (staging.Length < largestStaged) staging = new float[largestStaged];
        owned = [.. OwnedSlicesOf(segments, buckets)];
    }

    // This rank's part of each bucket, as slices of the parameters (numbered as given, not reversed).
    private IEnumerable<ParameterSlice> OwnedSlicesOf(Segment[] pieces, Bucket[] laid)
    {
        foreach (var bucket in laid)
        {
            var (lo, hi) = RankParts.Of(bucket.Elements, communicator.Size, communicator.Rank);
            int at = 0;
            for (int i = bucket.First; i < bucket.First + bucket.Count; i++)
            {
                var s = pieces[i];
                int from = Math.Max(at, lo), to = Math.Min(at + s.Count, hi);
                if (to > from) yield return new ParameterSlice(parameters.Length - 1 - s.Parameter, s.Offset + from - at, s.Offset + to - at);
                at += s.Count;
            }
        }
    }
}
