namespace Backprop.Optim;

/// <summary>
/// Updates parameters from their gradients: <c>W := W − α·∂E/∂W</c> and its refinements. Updates are made in place
/// on the parameters' storage, outside the graph.
/// </summary>
public abstract class Optimizer
{
    /// <summary>Creates an optimizer over <paramref name="parameters"/> with learning rate α and weight decay λ, as one group.</summary>
    /// <remarks>
    /// A tensor given more than once is kept once, so it is stepped once per <see cref="Step"/>. Frozen parameters
    /// (<see cref="Tensor.RequiresGrad"/> false) may be given, as PyTorch allows: <see cref="Step"/> leaves them as
    /// they are until they are unfrozen.
    /// </remarks>
    protected Optimizer(IEnumerable<Tensor> parameters, float learningRate, float weightDecay = 0f)
        : this([new ParameterGroup(parameters ?? throw new ArgumentNullException(nameof(parameters)))], learningRate, weightDecay, plain: true)
    {
    }

    /// <summary>
    /// Creates an optimizer over parameter <paramref name="groups"/>, each with its own settings; a setting a group
    /// leaves null is <paramref name="learningRate"/> or <paramref name="weightDecay"/>. A tensor may be in one group
    /// only (as in PyTorch); within a group a tensor given twice is kept once. Groups may be empty, not all of them.
    /// </summary>
    protected Optimizer(IEnumerable<ParameterGroup> groups, float learningRate, float weightDecay = 0f)
        : this(groups, learningRate, weightDecay, plain: false)
    {
    }

    private Optimizer(IEnumerable<ParameterGroup> groups, float learningRate, float weightDecay, bool plain)
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (!(learningRate > 0f) || float.IsInfinity(learningRate))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate,
                $"the learning rate must be a positive finite number but is {Show(learningRate)}.");
        if (!(weightDecay >= 0f) || float.IsInfinity(weightDecay))
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, $"{Title} weight decay must be a finite number ≥ 0 but is {Show(weightDecay)}.");
        var asked = groups.ToList();
        var owner = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        var all = new List<Tensor>();
        var groupOfParameter = new List<int>();
        var built = new List<OptimizerGroup>();
        for (int g = 0; g < asked.Count; g++)
        {
            var settings = asked[g] ?? throw new ArgumentNullException(nameof(groups), $"parameter group {g} is null.");
            var members = new List<Tensor>();
            foreach (var p in settings.Parameters)
            {
                if (p is null) throw new ArgumentNullException(nameof(groups), $"a parameter given to the optimizer{(asked.Count > 1 ? $" in group {g}" : "")} is null.");
                if (owner.TryGetValue(p, out int first))
                {
                    if (first != g) throw new ArgumentException($"a parameter{Named(p)} is in parameter groups {first} and {g}; each tensor may be in one group only.", nameof(groups));
                    continue;
                }
                owner[p] = g;
                members.Add(p);
                all.Add(p);
                groupOfParameter.Add(g);
            }
            float wd = settings.WeightDecay ?? weightDecay;
            if (!(wd >= 0f) || float.IsInfinity(wd))
                throw new ArgumentOutOfRangeException(nameof(groups), wd, $"parameter group {g}: {Title} weight decay must be a finite number ≥ 0 but is {Show(wd)}.");
            built.Add(new OptimizerGroup(g, members, learningRate, wd, plain ? null : settings));
            if (settings.LearningRate is { } lr) built[g].LearningRate = lr;
        }
        if (all.Count == 0) throw new ArgumentException("the optimizer got no parameters to update.", nameof(groups));
        Parameters = all;
        Groups = built;
        groupOf = [.. groupOfParameter];
    }

    private static string Named(Tensor p) => p.Name is null ? "" : $" '{p.Name}'";

    /// <summary>A number as messages show it (invariant culture).</summary>
    private protected static string Show(float v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The optimizer's name at the start of a message (<see cref="Name"/> unless overridden, e.g. "SGD").</summary>
    private protected virtual string Title => Name;

    private readonly int[] groupOf;

    /// <summary>The tensors this optimizer updates, each once; those with RequiresGrad false are skipped while frozen.</summary>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>The parameter groups, in the order given (one group when the optimizer was given a list of tensors).</summary>
    public IReadOnlyList<OptimizerGroup> Groups { get; }

    /// <summary>The group that parameter number <paramref name="index"/> (of <see cref="Parameters"/>) belongs to.</summary>
    protected OptimizerGroup GroupOf(int index) => Groups[groupOf[index]];

    /// <summary>
    /// α, the step size (schedules change it between steps): the first group's rate; setting it sets every group's
    /// rate, as <c>for g in optimizer.param_groups: g["lr"] = α</c> does. Set <see cref="OptimizerGroup.LearningRate"/>
    /// to change one group.
    /// </summary>
    public float LearningRate
    {
        get => Groups[0].LearningRate;
        set
        {
            if (!(value > 0f) || float.IsInfinity(value))
                throw new ArgumentOutOfRangeException(nameof(value), value, $"the learning rate must be a positive finite number but is {Show(value)}.");
            for (int i = 0; i < Groups.Count; i++) Groups[i].LearningRate = value;   // every step: no enumerator
        }
    }

    /// <summary>Number of <see cref="Step"/> calls so far.</summary>
    public long StepCount { get; protected set; }

    /// <summary>
    /// Applies one update to every parameter that has a gradient and is not frozen: a parameter whose
    /// <see cref="Tensor.RequiresGrad"/> is false stays as it is, even if it still holds a gradient from before it
    /// was frozen. Each update counts as an in-place write (<see cref="Tensor.Version"/>).
    /// </summary>
    public void Step()
    {
        StepCount++;
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad is null || !p.RequiresGrad) continue;
            p.MarkWritten();
            if (UpdatesElementwise && p.Size >= 2 * ParallelMinimum && Threads > 1 && TryUpdateInParallel(i))
            {
                ParallelUpdates++;
                continue;
            }
            Update(i, 0, p.AsSpan(), p.Grad.AsSpan());
        }
    }

    /// <summary>
    /// True when each value's update depends only on that value, its gradient and its own state (SGD, Adam, AdamW), so
    /// that any slice of a parameter may be stepped alone (<see cref="StepSlices"/>); false when an update needs a
    /// whole parameter.
    /// </summary>
    public bool StepsElementwise => UpdatesElementwise;

    /// <summary>
    /// One step, as <see cref="Step"/> would take it, of the given slices of the parameters only: for data-parallel
    /// training that shards the optimizer (ZeRO stage 1), where each rank steps its own part of every parameter and
    /// then copies the other ranks' new values in. Counts one step, and a write to every parameter <see cref="Step"/>
    /// would update (its other values are about to change too). Slices of frozen parameters or of parameters without
    /// a gradient are skipped, as <see cref="Step"/> skips those parameters.
    /// </summary>
    /// <exception cref="InvalidOperationException">The optimizer updates each parameter whole (<see cref="StepsElementwise"/> is false).</exception>
    /// <exception cref="ArgumentOutOfRangeException">A slice names no parameter or runs past its parameter's end.</exception>
    public void StepSlices(ReadOnlySpan<ParameterSlice> slices)
    {
        if (!UpdatesElementwise)
            throw new InvalidOperationException($"{Title} updates each parameter whole, so it cannot step slices of them; call Step.");
        foreach (var slice in slices)
        {
            if ((uint)slice.Parameter >= (uint)Parameters.Count)
                throw new ArgumentOutOfRangeException(nameof(slices), slice, $"a slice names parameter {slice.Parameter}, but the optimizer has parameters 0 to {Parameters.Count - 1}.");
            int size = Parameters[slice.Parameter].Size;
            if (slice.Start < 0 || slice.End < slice.Start || slice.End > size)
                throw new ArgumentOutOfRangeException(nameof(slices), slice, $"slice [{slice.Start}, {slice.End}) of parameter {slice.Parameter} does not lie within its {size} values.");
        }
        StepCount++;
        for (int i = 0; i < Parameters.Count; i++)
            if (Parameters[i].Grad is not null && Parameters[i].RequiresGrad) Parameters[i].MarkWritten();
        foreach (var (index, start, end) in slices)
        {
            var p = Parameters[index];
            if (p.Grad is null || !p.RequiresGrad || end == start) continue;
            Update(index, start, p.AsSpan()[start..end], p.Grad.AsSpan()[start..end]);
        }
    }

    /// <summary>
    /// Updates values [<paramref name="offset"/>, offset + parameter.Length) of parameter number
    /// <paramref name="index"/> in place from the same slice of its gradient (the whole parameter unless
    /// <see cref="UpdatesElementwise"/>). Slices of one parameter run on several threads at once: read the
    /// hyper-parameters from <see cref="GroupOf"/>(index), never from state that changes per call.
    /// </summary>
    protected abstract void Update(int index, int offset, Span<float> parameter, ReadOnlySpan<float> gradient);

    /// <summary>
    /// True when each value's update depends only on that value, its gradient and its own state (SGD, Adam), so a large
    /// parameter may be updated in slices on several cores; false (the default) updates each parameter whole.
    /// </summary>
    protected virtual bool UpdatesElementwise => false;

    /// <summary>How many parameter updates ran in slices on several cores (tests check a split happened).</summary>
    internal long ParallelUpdates { get; private set; }

    /// <summary>Most cores one parameter's update may use (tests pass another count to compare).</summary>
    internal int Threads { get; set; } = Kernels.Gemm.MaxThreads;

    // Below this many values per slice, waking another core costs more than the slice saves.
    private const int ParallelMinimum = 1 << 14;

    // Slice boundaries fall on multiples of this many values: a whole number of vectors of every width (and of
    // cache lines), so each value takes the same vector or scalar path it would take in one call, and the result
    // does not depend on the number of slices.
    private const int SliceGranule = 64;

    private Action<int>? sliceUpdate;
    private int sliceIndex, slices;

    // Parameter sliceIndex in `slices` contiguous slices, one per core; the delegate is made once, so a step allocates nothing.
    private bool TryUpdateInParallel(int index)
    {
        var size = Parameters[index].Size;
        (sliceIndex, slices) = (index, Math.Min(Threads, size / ParallelMinimum));
        sliceUpdate ??= part =>
        {
            var p = Parameters[sliceIndex];
            int granules = (p.Size + SliceGranule - 1) / SliceGranule;
            int start = Math.Min(p.Size, (int)((long)part * granules / slices) * SliceGranule);
            int end = Math.Min(p.Size, (int)((long)(part + 1) * granules / slices) * SliceGranule);
            Update(sliceIndex, start, p.AsSpan()[start..end], p.Grad!.AsSpan()[start..end]);
        };
        return Kernels.GemmWorkers.TryRun(slices, sliceUpdate);
    }

    /// <summary>Clears every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        for (int i = 0; i < Parameters.Count; i++) Parameters[i].ZeroGrad();
    }

    /// <summary>
    /// <see cref="ZeroGrad"/> for a training loop that owns the gradients (<c>Fit</c>): each parameter keeps its old
    /// gradient's storage for the next backward pass to refill, so steady-state steps allocate no gradients.
    /// </summary>
    internal void RecycleGrads()
    {
        for (int i = 0; i < Parameters.Count; i++) Parameters[i].RecycleGrad();   // every step: no boxed enumerator
    }

    /// <summary>The name used on the command line (<c>sgd</c>, <c>adam</c>, <c>adamw</c>).</summary>
    public abstract string Name { get; }

    /// <summary>
    /// Copies of the optimizer's per-parameter state for a checkpoint, named by kind and parameter index
    /// (<c>m.0</c>, <c>v.0</c> for Adam; <c>velocity.0</c> for SGD, for each parameter whose group has momentum).
    /// With <see cref="StepCount"/> and <see cref="LearningRate"/> this is everything the next step depends on.
    /// </summary>
    public IEnumerable<(string Name, Tensor State)> NamedState() => OwnState();

    /// <summary>
    /// Restores state saved from <see cref="NamedState"/> of an optimizer of the same kind over parameters of the
    /// same sizes, and the step count, so the next <see cref="Step"/> is the one the saved optimizer would take.
    /// </summary>
    /// <exception cref="ArgumentException">A tensor is missing, unexpected, or of the wrong size.</exception>
    public void LoadState(IReadOnlyDictionary<string, Tensor> state, long stepCount)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (stepCount < 0) throw new ArgumentOutOfRangeException(nameof(stepCount), stepCount, "the step count must be ≥ 0.");
        LoadOwnState(state);
        var known = OwnState().Select(s => s.Name).ToHashSet();
        var extra = state.Keys.Where(k => !known.Contains(k)).ToList();
        if (extra.Count > 0)
            throw new ArgumentException($"{Name} state has no tensor(s) {string.Join(", ", extra)}; the state was saved by another optimizer or model.", nameof(state));
        StepCount = stepCount;
    }

    /// <summary>The subclass's state tensors (copies); none for plain SGD.</summary>
    protected virtual IEnumerable<(string Name, Tensor State)> OwnState() => [];

    /// <summary>Copies the subclass's state back from <paramref name="state"/>, validating names and sizes.</summary>
    protected virtual void LoadOwnState(IReadOnlyDictionary<string, Tensor> state) { }

    /// <summary>The tensor <paramref name="name"/> of <paramref name="state"/>, which must hold <paramref name="size"/> values.</summary>
    internal static Tensor Required(IReadOnlyDictionary<string, Tensor> state, string name, int size)
    {
        if (!state.TryGetValue(name, out var t))
            throw new ArgumentException($"optimizer state needs tensor '{name}' of {size} values but has none.", nameof(state));
        if (t.Size != size)
            throw new ArgumentException($"optimizer state tensor '{name}' should hold {size} values but holds {t.Size}.", nameof(state));
        return t;
    }
}

/// <summary>Values [<see cref="Start"/>, <see cref="End"/>) of parameter number <see cref="Parameter"/> of an optimizer's <see cref="Optimizer.Parameters"/>.</summary>
public readonly record struct ParameterSlice(int Parameter, int Start, int End);
