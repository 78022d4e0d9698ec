using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Distributed;

/// <summary>
/// Data-parallel training as PyTorch's DistributedDataParallel defines it, for <c>Fit</c>: set it as
/// <see cref="FitOptions.Parallel"/> on every rank, with the same model, data and options.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>At start the ranks check that they hold the same model (structure, and values unless
/// <see cref="DataParallelOptions.RequireSameStart"/> is off) and the same run (rows, global batch, epochs, seed,
/// optimizer position), then rank 0's parameters and buffers are broadcast to all.</item>
/// <item>Each epoch's row order (drawn from the seed and the epoch, the same on every rank) is sharded by
/// <see cref="DistributedSampler.Shard"/>; a global batch of B rows is N local batches of B / N.</item>
/// <item>After backward the gradients are averaged in buckets, in place (<see cref="GradientAverager"/>), and the batch's loss
/// and correct count summed, so every rank steps (or skips a non-finite batch) alike. With a sharded step in the
/// compiled engine, a large dense weight's gradient is formed instead from the ranks' shared layer inputs and output
/// gradients (<see cref="DataParallelOptions.ShareFactors"/>).</item>
/// <item>BatchNorm normalizes with each rank's own batch statistics (no SyncBatchNorm); at each epoch's end rank 0's
/// running statistics (every buffer) are broadcast, and the parameters are checked to be still identical.</item>
/// <item>Dropout: at each epoch's start rank 0's generator states are broadcast and rank r &gt; 0 derives its own
/// stream from them and r, so masks differ per rank and are reproducible from the seed and the rank; rank 0 keeps
/// the stream one process would have.</item>
/// </list>
/// The guarantee: without BatchNorm or dropout, N ranks with global batch B take the steps one process takes with
/// batch B on the same rows (when N divides the row count; otherwise the padding repeats up to N − 1 rows per epoch),
/// up to float summation order: each gradient is Σ_r mean_r / N instead of one mean over B rows.
/// </remarks>
public sealed class DataParallel : IDataParallel, IFactorSharing
{
    private readonly DataParallelOptions options;
    private GradientAverager? averager;
    private IReadOnlyList<Tensor>? averagedParameters;
    private Optimizer? optimizer;
    private bool sharded;        // each rank steps its slices of the parameters (set at Start)
    private bool stateScattered; // sharded steps were taken since the optimizer state was last gathered
    private Func<int, Span<float>>? parameterValues;   // i => optimizer.Parameters[i]'s storage, made once
    private (long Bytes, long FactorBytes, int Layers) forming;   // what FormWeightGradient did in this step so far
    private bool[] formed = [];   // formed[i]: optimizer.Parameters[i]'s gradient was formed from shared factors this step
    private float[] factors = []; // every rank's factor rows of the dense layer being formed (FormWeightGradient)
    private readonly double[] totals = new double[3];
    private CancellationToken local;
    private readonly CancellationTokenSource agreed = new();
    private int epoch;
    private long epochStarted;

    /// <summary>Data-parallel training over <paramref name="communicator"/>'s ranks.</summary>
    public DataParallel(ICommunicator communicator, DataParallelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        Communicator = communicator;
        this.options = options ?? new DataParallelOptions();
        if (this.options.BucketBytes < sizeof(float))
            throw new ArgumentOutOfRangeException(nameof(options), this.options.BucketBytes, $"DataParallelOptions.BucketBytes must be at least 4 but is {this.options.BucketBytes}.");
    }

    /// <summary>The ranks.</summary>
    public ICommunicator Communicator { get; }

    /// <inheritdoc/>
    public int Rank => Communicator.Rank;

    /// <inheritdoc/>
    public int WorldSize => Communicator.Size;

    /// <summary>
    /// Gradient bytes each step averages (known after the first step): those the buckets reduce, and
    /// <see cref="FormedBytesPerStep"/>.
    /// </summary>
    public long BytesPerStep => (averager?.BytesPerStep ?? 0) + FormedBytesPerStep;

    /// <summary>Collective calls per step for the gradients' buckets (known after the first step).</summary>
    public int BucketsPerStep => averager?.BucketsPerStep ?? 0;

    /// <summary>
    /// Of <see cref="BytesPerStep"/>, the bytes of dense weight gradients formed from the ranks' shared factors instead
    /// of reduced (see <see cref="DataParallelOptions.ShareFactors"/>), in the last step.
    /// </summary>
    public long FormedBytesPerStep { get; private set; }

    /// <summary>The bytes of factor rows (layer inputs and output gradients) each rank shared for them, in the last step.</summary>
    public long FactorBytesPerStep { get; private set; }

    /// <summary>Dense layers whose weight gradient is formed from shared factors (known after the first step).</summary>
    public int SharedFactorLayers { get; private set; }

    /// <summary>
    /// Of <see cref="BytesPerStep"/>, the bytes of small gradients copied through a staging buffer each step; the rest
    /// are allreduced in place (see <see cref="GradientAverager"/>).
    /// </summary>
    public long StagedBytesPerStep => averager?.StagedBytesPerStep ?? 0;

    /// <summary>Optimizer steps taken with averaged gradients so far.</summary>
    public long Steps { get; private set; }

    /// <summary>Wall time inside epochs (first batch to last, validation excluded) so far.</summary>
    public TimeSpan TrainingTime { get; private set; }

    /// <summary>
    /// Of <see cref="TrainingTime"/>, the wall time spent in <see cref="AverageGradients"/>: everything a step adds to
    /// one process's step (the allreduces, waiting there for the slowest rank, staging small gradients, the division).
    /// </summary>
    public TimeSpan AveragingTime => TimeSpan.FromSeconds(averagingTicks / (double)System.Diagnostics.Stopwatch.Frequency);

    private long averagingTicks, waitingTicks;

    /// <summary>
    /// Of <see cref="AveragingTime"/>, the time this rank spent at the shared-memory window's barriers waiting for the
    /// other ranks of its machine to arrive (<see cref="MpiCommunicator.SharedMemoryWaitTime"/>): what their imbalance
    /// or the stalls of their cores cost, rather than moving values. Zero with another communicator; the waiting inside
    /// MPI's own collectives (small buckets, across machines) is not told apart and counts as moving values.
    /// </summary>
    public TimeSpan WaitingTime => TimeSpan.FromSeconds(waitingTicks / (double)System.Diagnostics.Stopwatch.Frequency);

    // The clock and the communicator's waiting so far, at the start of a part of a step that counts as averaging.
    private (long Ticks, long Waited) Mark() => (System.Diagnostics.Stopwatch.GetTimestamp(), WaitedTicks());

    // Adds the time since `start` to the averaging time, and the waiting since then to the waiting time.
    private void AddSince((long Ticks, long Waited) start)
    {
        averagingTicks += System.Diagnostics.Stopwatch.GetTimestamp() - start.Ticks;
        waitingTicks += WaitedTicks() - start.Waited;
    }

    private long WaitedTicks() => Communicator is IWaitCounting counting ? counting.WaitedTicks : 0;

    /// <summary>
    /// A token that every rank sees cancelled after the same batch: pass it as <see cref="FitOptions.Cancellation"/>.
    /// It is cancelled when <paramref name="localToken"/> (e.g. this rank's Ctrl-C) is cancelled on any rank, so that
    /// no rank stops while the others wait for it.
    /// </summary>
    public CancellationToken Agree(CancellationToken localToken)
    {
        local = localToken;
        return agreed.Token;
    }

    /// <inheritdoc/>
    public void Start(Module model, Optimizer optimizer, Dataset train, FitOptions fit)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(fit);
        int n = WorldSize;
        if (fit.BatchSize % n != 0)
        {
            int down = fit.BatchSize / n * n, up = down + n;
            throw new ArgumentException($"the global batch of {fit.BatchSize} rows must split evenly among {n} ranks; use a multiple of {n}, e.g. {(down > 0 ? $"{down} or " : "")}{up}.");
        }
        CheckSameRun(model, optimizer, train, fit);
        BroadcastState(model, model.StateDict());
        averagedParameters = optimizer.Parameters;
        averager = new GradientAverager(Communicator, optimizer.Parameters, options.BucketBytes);
        this.optimizer = optimizer;
        var trained = optimizer.Parameters;
        parameterValues = i => trained[i].AsSpan();
        sharded = options.ShardOptimizer && optimizer.StepsElementwise && WorldSize > 1;
        formed = new bool[trained.Count];
        forming = default;
        stateScattered = false;
        epoch = 0;
    }

    /// <summary>
    /// Whether each rank steps only its part of the parameters (see <see cref="DataParallelOptions.ShardOptimizer"/>);
    /// known after <c>Fit</c> starts.
    /// </summary>
    public bool ShardsOptimizer => sharded;

    /// <inheritdoc/>
    public void StartEpoch(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        epoch++;
        epochStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        var generators = model.NamedGenerators().Select(g => g.Generator).ToList();
        if (generators.Count == 0) return;
        var states = new double[4 * generators.Count];
        for (int i = 0; i < generators.Count; i++)
        {
            var (a, b, c, d) = generators[i].State;
            (states[4 * i], states[4 * i + 1], states[4 * i + 2], states[4 * i + 3]) = (a, b, c, d);
        }
        Communicator.Broadcast(states);
        if (Rank == 0) return;
        for (int i = 0; i < generators.Count; i++)
        {
            // Rank r's stream: a generator seeded from rank 0's state and r (SplitMix64 spreads nearby seeds apart).
            ulong mixed = ((ulong)(uint)states[4 * i] | ((ulong)(uint)states[4 * i + 1] << 32)) ^ (((ulong)(uint)states[4 * i + 2] | ((ulong)(uint)states[4 * i + 3] << 32)) * 31);
            generators[i].State = new Rng((long)(mixed + 0x9E3779B97F4A7C15UL * (ulong)Rank)).State;
        }
    }

    /// <inheritdoc/>
    public int[] Shard(int[] order) => DistributedSampler.Shard(order, Rank, WorldSize);

    /// <inheritdoc/>
    public int LocalBatchSize(int batchSize) => batchSize / WorldSize;

    /// <inheritdoc/>
    public void AverageGradients(IReadOnlyList<Tensor> parameters, ref double lossSum, ref int correct)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var started = Mark();
        if (averager is null || !ReferenceEquals(parameters, averagedParameters))
        {
            averager = new GradientAverager(Communicator, parameters, options.BucketBytes);
            averagedParameters = parameters;
        }
        if (sharded && ReferenceEquals(parameters, optimizer?.Parameters)) averager.ReduceScatter(formed);
        else averager.Average();
        (FormedBytesPerStep, FactorBytesPerStep, SharedFactorLayers) = (forming.Bytes, forming.FactorBytes, forming.Layers);
        forming = default;
        Array.Clear(formed);
        (totals[0], totals[1], totals[2]) = (lossSum, correct, local.IsCancellationRequested ? 1 : 0);
        Communicator.AllReduce(totals);
        (lossSum, correct) = (totals[0], (int)totals[1]);
        Steps++;
        AddSince(started);
        if (totals[2] > 0) agreed.Cancel();
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Sharded (<see cref="ShardsOptimizer"/>), each rank clips and steps the slices whose gradient means it holds
    /// (the norm for clipping is the square root of the ranks' summed Σ g²), then the parameters are all-gathered;
    /// otherwise every rank clips every gradient and steps every parameter.
    /// </remarks>
    public void Step(Optimizer optimizer, float? clipValue, float? clipNorm)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!sharded || !ReferenceEquals(optimizer, this.optimizer) || averager is null || !ReferenceEquals(averagedParameters, optimizer.Parameters))
        {
            GradClip.Apply(optimizer.Parameters, clipValue, clipNorm);
            optimizer.Step();
            return;
        }
        var slices = averager.OwnedSlices;
        var parameters = optimizer.Parameters;
        if (clipValue is { } clip)
            foreach (var (i, start, end) in slices)
                if (GradientOf(parameters[i]) is { } g) GradClip.Clamp(g.AsSpan()[start..end], clip);
        if (clipNorm is { } maxNorm)
        {
            // Σ g² over this rank's slices, summed over the ranks: every rank gets the same global norm.
            Span<double> sumSquares = [0];
            foreach (var (i, start, end) in slices)
                if (GradientOf(parameters[i]) is { } g) sumSquares[0] += System.Numerics.Tensors.TensorPrimitives.SumOfSquares<float>(g.AsSpan()[start..end]);
            var began = Mark();
            Communicator.AllReduce(sumSquares);
            AddSince(began);
            double scale = GradClip.NormScale(Math.Sqrt(sumSquares[0]), maxNorm);
            if (scale < 1)
                foreach (var (i, start, end) in slices)
                    if (GradientOf(parameters[i]) is { } g) System.Numerics.Tensors.TensorPrimitives.Multiply(g.AsSpan()[start..end], (float)scale, g.AsSpan()[start..end]);
        }
        optimizer.StepSlices(slices);
        stateScattered = true;
        var started = Mark();
        averager.AllGather(parameterValues!);
        AddSince(started);
    }

    /// <summary>Floats per factor row [x (in) | dz (out)]: whole 64-byte lines, so every rank's rows are whole lines too.</summary>
    private static int FactorStride(int inFeatures, int outFeatures) =>
        (inFeatures + outFeatures + RankParts.LineFloats - 1) / RankParts.LineFloats * RankParts.LineFloats;

    /// <inheritdoc/>
    /// <remarks>
    /// Yes when the step is sharded, <see cref="DataParallelOptions.ShareFactors"/> is on, the weight is one of the
    /// optimizer's, reduced in place (so its owned values are its own), and the factors of a step,
    /// N·<paramref name="maxRows"/> rows of in + out values (padded to whole 64-byte lines), are at most the weight's
    /// in·out values: then gathering them moves fewer bytes than reducing dW, and forming one's part of dW from all
    /// the rows takes the arithmetic forming all of dW from one's own rows would.
    /// </remarks>
    bool IFactorSharing.SharesFactors(Tensor weight, int inFeatures, int outFeatures, int maxRows)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (!sharded || !options.ShareFactors || optimizer is null || averager is null || weight.Size != (long)inFeatures * outFeatures) return false;
        int index = IndexOf(optimizer.Parameters, weight);
        if (index < 0 || !averager.ReducesInPlace(index)) return false;
        return (long)WorldSize * maxRows * FactorStride(inFeatures, outFeatures) <= (long)inFeatures * outFeatures;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Each rank writes its rows [x | dz / N] into its part of one buffer and the ranks all-gather it; then this rank
    /// forms its owned slices (<see cref="GradientAverager.OwnedSlices"/>) of dW = Σ over all N·rows rows of x·dz/N,
    /// and the reduce-scatter that follows leaves the weight out. The gather counts as communication
    /// (<see cref="AveragingTime"/>); the product replaces the local dW product, and is compute.
    /// </remarks>
    void IFactorSharing.FormWeightGradient(Tensor weight, ReadOnlySpan<float> x, ReadOnlySpan<float> dz, int rows, int inFeatures, int outFeatures,
        Span<float> gradient)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (optimizer is null || averager is null) throw new InvalidOperationException("DataParallel: factors are shared only inside Fit, after Start.");
        int index = IndexOf(optimizer.Parameters, weight);
        if (index < 0) throw new InvalidOperationException("DataParallel: the weight whose factors were shared is not one of the optimizer's parameters.");
        if (x.Length != rows * inFeatures || dz.Length != rows * outFeatures || gradient.Length != weight.Size)
            throw new ArgumentException($"DataParallel: expected x of {rows} × {inFeatures}, dz of {rows} × {outFeatures} and a gradient of {weight.Size} values, but got {x.Length}, {dz.Length} and {gradient.Length}.");
        var started = Mark();
        int stride = FactorStride(inFeatures, outFeatures), mine = rows * stride, all = WorldSize * mine;
        if (factors.Length < all) factors = new float[all];
        var own = factors.AsSpan(Rank * mine, mine);
        float perRank = 1f / WorldSize;
        for (int r = 0; r < rows; r++)
        {
            var row = own.Slice(r * stride, stride);
            x.Slice(r * inFeatures, inFeatures).CopyTo(row);
            System.Numerics.Tensors.TensorPrimitives.Multiply(dz.Slice(r * outFeatures, outFeatures), perRank, row.Slice(inFeatures, outFeatures));
            row[(inFeatures + outFeatures)..].Clear();
        }
        Communicator.AllGather(factors.AsSpan(0, all));   // every rank's part is exactly its `mine` values: whole lines
        AddSince(started);
        foreach (var (i, start, end) in averager.OwnedSlices)
            if (i == index) Kernels.DenseKernels.WeightGradientSlice(gradient, factors, stride, WorldSize * rows, inFeatures, outFeatures, start, end);
        formed[index] = true;
        forming = (forming.Bytes + weight.Size * sizeof(float), forming.FactorBytes + (long)mine * sizeof(float), forming.Layers + 1);
    }

    private static int IndexOf(IReadOnlyList<Tensor> parameters, Tensor weight)
    {
        for (int i = 0; i < parameters.Count; i++)
            if (ReferenceEquals(parameters[i], weight)) return i;
        return -1;
    }

    // The gradient a step applies (as Optimizer.Step and GradClip skip frozen parameters and those without one).
    private static Tensor? GradientOf(Tensor p) => p.RequiresGrad ? p.Grad : null;

    /// <inheritdoc/>
    public void BeforeCheckpoint(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        GatherOptimizerState();
    }

    // After sharded steps each rank's optimizer state is current for its own slices only: all-gather every state
    // tensor that belongs to one parameter (named "kind.i" with i the parameter's index, of its size), so every rank
    // holds all of it. Collective.
    private void GatherOptimizerState()
    {
        if (!stateScattered || optimizer is null || averager is null) return;
        stateScattered = false;
        var parameters = optimizer.Parameters;
        var state = optimizer.NamedState().ToList();
        var kinds = new List<(string Kind, Tensor?[] Tensors)>();   // in the order the optimizer names them, alike on every rank
        foreach (var (name, tensor) in state)
        {
            int dot = name.LastIndexOf('.');
            if (dot < 0 || !int.TryParse(name.AsSpan(dot + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int i)
                || i >= parameters.Count || tensor.Size != parameters[i].Size)
                throw new InvalidOperationException($"{optimizer.Name} state tensor '{name}' is not one parameter's (named kind.index, of its size): a sharded step cannot gather it; set DataParallelOptions.ShardOptimizer = false.");
            var kind = name[..dot];
            int k = kinds.FindIndex(x => x.Kind == kind);
            if (k < 0) kinds.Add((kind, new Tensor?[parameters.Count]));
            kinds[k < 0 ? ^1 : k].Tensors[i] = tensor;
        }
        foreach (var (_, tensors) in kinds)
        {
            // A parameter without this kind of state (none yet) shares zeros and keeps none.
            averager.AllGather(i => tensors[i] is { } t ? t.AsSpan() : new float[parameters[i].Size]);
        }
        optimizer.LoadState(state.ToDictionary(s => s.Name, s => s.State), optimizer.StepCount);
    }

    /// <inheritdoc/>
    public void EndEpoch(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        GatherOptimizerState();
        if (epochStarted != 0) TrainingTime += System.Diagnostics.Stopwatch.GetElapsedTime(epochStarted);
        var buffers = model.NamedBuffers().ToList();
        if (buffers.Count > 0) BroadcastState(model, buffers);
        // Identical gradients and identical optimizers keep the replicas bit-identical; check it rather than trust it.
        var (low, high) = ModelFingerprint.Split(ModelFingerprint.Values(model.Parameters()));
        Span<double> range = [low, high, -low, -high];
        Communicator.AllReduce(range, ReduceOperation.Max);
        if (range[0] != -range[2] || range[1] != -range[3])
            throw new InvalidOperationException($"after epoch {epoch} the ranks' parameters differ: the allreduce did not give every rank the same sums.");
    }

    /// <summary>
    /// Copies rank 0's parameters and buffers into every rank's model (collective), for a training loop of your own;
    /// <c>Fit</c> does it at start.
    /// </summary>
    public void Synchronize(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        BroadcastState(model, model.StateDict());
    }

    // Rank 0's values of `state` (the model's tensors) into every rank's.
    private void BroadcastState(Module model, IReadOnlyList<(string Name, Tensor Tensor)> state)
    {
        var values = new Dictionary<string, Tensor>();
        foreach (var (name, t) in state)
        {
            var copy = t.Detach().Clone();   // same shape, a 0-d counter included
            Communicator.Broadcast(copy.AsSpan());
            values[name] = copy;
        }
        if (Rank != 0) model.LoadStateDict(values, strict: false);
    }

    // Rank 0's fingerprint of the model and the run, broadcast; every rank learns the highest rank that differs in
    // each respect, so all of them stop with the same message.
    private void CheckSameRun(Module model, Optimizer optimizer, Dataset train, FitOptions fit)
    {
        var (sLow, sHigh) = ModelFingerprint.Split(ModelFingerprint.Structure(model));
        var (vLow, vHigh) = ModelFingerprint.Split(ModelFingerprint.Values(model));
        double[] mine = [sLow, sHigh, vLow, vHigh, train.Count, fit.BatchSize, fit.Epochs, fit.Seed, optimizer.StepCount,
            options.BucketBytes, options.ShardOptimizer ? 1 : 0, options.ShareFactors ? 1 : 0];
        var root = (double[])mine.Clone();
        Communicator.Broadcast(root);
        bool sameStructure = mine[0] == root[0] && mine[1] == root[1];
        bool sameValues = mine[2] == root[2] && mine[3] == root[3];
        bool sameRun = mine.AsSpan(4).SequenceEqual(root.AsSpan(4));
        Span<double> worst = [sameStructure ? -1 : Rank, sameValues ? -1 : Rank, sameRun ? -1 : Rank];
        Communicator.AllReduce(worst, ReduceOperation.Max);
        if (worst[0] >= 0)
            throw new InvalidOperationException($"rank {worst[0]} was given a different model than rank 0 (its layers, parameter names or shapes differ): start every rank with the same model.");
        if (worst[2] >= 0)
            throw new InvalidOperationException($"rank {worst[2]} was given a different run than rank 0 (rank 0: {root[4]} training rows, global batch {root[5]}, {root[6]} epochs, seed {root[7]}, {root[8]} optimizer steps taken; " +
                $"buckets of {root[9]} bytes, sharded step {(root[10] > 0 ? "on" : "off")}, shared factors {(root[11] > 0 ? "on" : "off")}): start every rank with the same data and options.");
        if (worst[1] >= 0 && options.RequireSameStart)
            throw new InvalidOperationException($"rank {worst[1]}'s initial parameters differ from rank 0's (a different seed?): start every rank with the same seed, or set DataParallelOptions.RequireSameStart = false to broadcast rank 0's.");
    }
}
