namespace Backprop;

public sealed partial class Tensor
{
    private bool requiresGrad;

    /// <summary>
    /// Whether gradients flow to this tensor. Set it on leaves (parameters, inputs you want ∂/∂ of); results of
    /// operations on such tensors require gradients automatically.
    /// </summary>
    public bool RequiresGrad
    {
        get => requiresGrad;
        set
        {
            if (!value && Node is not null)
                throw new InvalidOperationException($"cannot turn off RequiresGrad on the result of '{Node.Op}'; use Detach() instead.");
            requiresGrad = value;
        }
    }

    /// <summary>
    /// ∂L/∂this after <see cref="Backward()"/>: same shape as this tensor. On leaves gradients accumulate across
    /// backward passes until <see cref="ZeroGrad"/>. An intermediate result's gradient is dropped as soon as its op
    /// has passed it on, as in PyTorch, unless <see cref="RetainGrad"/> asked to keep it (then it holds the latest pass).
    /// </summary>
    public Tensor? Grad { get; set; }

    /// <summary>Whether <see cref="Backward()"/> keeps this intermediate result's gradient (<see cref="RetainGrad"/>).</summary>
    public bool RetainsGrad { get; private set; }

    // A leaf's last gradient, handed back by Fit's graph step (RecycleGrad) for the next backward pass to refill
    // instead of allocating a new one.
    private Tensor? recycledGrad;

    /// <summary>The operation that produced this tensor, or null for a leaf.</summary>
    internal GradNode? Node { get; private set; }

    /// <summary>True when this tensor was not produced by a recorded operation.</summary>
    public bool IsLeaf => Node is null;

    /// <summary>The name of the operation that produced this tensor (e.g. <c>matmul</c>), or null for a leaf.</summary>
    public string? Op => Node?.Op;

    /// <summary>The tensors the producing operation read; empty for a leaf.</summary>
    public IReadOnlyList<Tensor> Inputs => Node?.Inputs ?? [];

    /// <summary>Marks this tensor as requiring gradients and returns it (fluent).</summary>
    public Tensor RequireGrad()
    {
        RequiresGrad = true;
        return this;
    }

    /// <summary>The same values, sharing storage (and <see cref="Version"/>), cut off from the graph.</summary>
    public Tensor Detach() => new Tensor(dims, data) { Name = Name }.ViewOf(this);

    /// <summary>Forgets the accumulated gradient.</summary>
    public void ZeroGrad() => Grad = null;

    /// <summary>
    /// Keeps this tensor's gradient in <see cref="Grad"/> after <see cref="Backward()"/> even if it is an intermediate
    /// result (PyTorch's <c>retain_grad</c>); leaves keep theirs anyway. Returns this tensor (fluent).
    /// </summary>
    public Tensor RetainGrad()
    {
        RetainsGrad = true;
        return this;
    }

    /// <summary>
    /// Like <see cref="ZeroGrad"/>, but the old gradient's storage is kept for the next backward pass to refill in
    /// place: a training step of <c>Fit</c> does this, so a parameter's gradient is not allocated anew every step.
    /// Only for code that owns the gradient: whoever still holds the old <see cref="Grad"/> sees it overwritten.
    /// </summary>
    internal void RecycleGrad()
    {
        if (Grad is { lease: < 0, pooled: false } g && ReferenceEquals(g.viewOf, null)) recycledGrad = g;
        Grad = null;
    }

    /// <summary>
    /// Records <paramref name="backward"/> as the way to push this result's gradient to <paramref name="inputs"/>,
    /// when recording is on and some input requires a gradient. Every op calls this right after computing its value.
    /// </summary>
    /// <param name="op">The op's name, shown in graphs and errors.</param>
    /// <param name="inputs">The tensors the op read.</param>
    /// <param name="backward">Given ∂L/∂this, accumulates ∂L/∂input into the inputs that require a gradient.</param>
    /// <param name="saved">
    /// The tensors (among the inputs, or this result) whose values <paramref name="backward"/> reads: Backward()
    /// throws if one of them is written in place in between (see <see cref="Version"/>). None by default.
    /// </param>
    internal Tensor Record(string op, Tensor[] inputs, Action<Tensor> backward, Tensor[]? saved = null)
    {
        if (!GradMode.IsEnabled) return this;
        foreach (var input in inputs)
        {
            if (input.requiresGrad)
            {
                requiresGrad = true;
                Node = new GradNode(op, inputs, backward, saved ?? []);
                return this;
            }
        }
        return this;
    }

    /// <summary>
    /// Records the op that made this tensor in the static form (see <see cref="GradNode"/>): inputs
    /// <paramref name="a"/>, then <paramref name="b"/> and <paramref name="c"/> when not null, in that order in
    /// <see cref="GradNode.Inputs"/>; <paramref name="saves"/> names those whose values the backward reads. Returns
    /// the node, for the op to fill the slots its backward reads, or null when nothing was recorded (no gradient
    /// mode, or no input needs a gradient). Inside a step the node comes from the step's pool: nothing is allocated.
    /// </summary>
    internal GradNode? Record(string op, GradNode.StaticBackward backward, Tensor a, Tensor? b = null, Tensor? c = null, Saves saves = Saves.None) =>
        Record(op, backward, [a, b, c], saves);

    /// <summary>
    /// <see cref="Record(string, GradNode.StaticBackward, Tensor, Tensor?, Tensor?, Saves)"/> for an op with more
    /// inputs: those of <paramref name="inputs"/> that are not null, in order (write them as a collection expression:
    /// it lives on the stack). <paramref name="saves"/> counts positions in <paramref name="inputs"/> (Input0 … Input2).
    /// </summary>
    internal GradNode? Record(string op, GradNode.StaticBackward backward, ReadOnlySpan<Tensor?> inputs, Saves saves)
    {
        if (!GradMode.IsEnabled) return null;
        int count = 0;
        bool any = false;
        foreach (var t in inputs)
        {
            if (t is null) continue;
            count++;
            any |= t.requiresGrad;
        }
        if (!any) return null;
        var node = TensorArena.NewNode(this, count, System.Numerics.BitOperations.PopCount((uint)saves));
        node.Begin(op, this, backward);
        int i = 0, s = 0;
        foreach (var t in inputs) if (t is not null) node.Inputs[i++] = t;
        for (int k = 0; k < 3; k++) if ((saves & (Saves)(1 << k)) != 0) SaveIn(node, s++, inputs[k]!);
        if ((saves & Saves.Output) != 0) SaveIn(node, s, this);
        requiresGrad = true;
        Node = node;
        return node;
    }

    private static void SaveIn(GradNode node, int slot, Tensor t)
    {
        node.Saved[slot] = t;
        node.SavedVersions[slot] = t.Version;
    }

    /// <summary>Which tensors a static-form backward reads: the inputs as passed to <c>Record</c> (a, b, c) and the output.</summary>
    [Flags]
    internal enum Saves
    {
        None = 0,
        Input0 = 1,
        Input1 = 2,
        Input2 = 4,
        Output = 8,
    }

    /// <summary>Adds <paramref name="gradient"/> (same shape as this tensor) into <see cref="Grad"/>.</summary>
    internal void AccumulateGrad(Tensor gradient)
    {
        if (!Shapes.Equal(gradient.dims, dims))
            throw new ShapeMismatchException(
                $"gradient of shape {Shapes.Format(gradient.dims)} does not match tensor of shape {Shapes.Format(dims)}" +
                (Node is null ? "" : $" (output of '{Node.Op}')") + ".");
        if (Grad is null) Grad = CopyAsGrad(gradient);
        else Kernels.SimdDriver.Map<Kernels.AddOperator>(Grad.data, Grad.data, gradient.data, Kernels.Simd.Width);   // split over the cores when long
    }

    /// <summary>
    /// A copy of <paramref name="gradient"/> for this tensor to hold as its <see cref="Grad"/>: an intermediate result
    /// rents it for the step, a leaf (whose gradient outlives the step) refills its recycled gradient or allocates.
    /// </summary>
    private Tensor CopyAsGrad(Tensor gradient)
    {
        Tensor copy;
        if (Node is not null) copy = Uninitialized(dims);
        else if (recycledGrad is { } spare && spare.data.Length == data.Length && Shapes.Equal(spare.dims, dims)) copy = spare;
        else copy = new Tensor((int[])dims.Clone(), new float[data.Length]);
        recycledGrad = null;
        gradient.data.AsSpan().CopyTo(copy.data);
        return copy;
    }

    /// <summary>Backpropagates from a scalar (one-element) result: ∂this/∂this = 1.</summary>
    public void Backward()
    {
        if (Size != 1)
            throw new InvalidOperationException(
                $"Backward() without a gradient needs a one-element result, but this tensor has shape {Shapes.Format(dims)}; " +
                "pass the upstream gradient explicitly with Backward(gradient).");
        var seed = Uninitialized(dims);
        seed.data[0] = 1f;
        Backward(seed);
        TensorArena.Release(seed);
    }

    /// <summary>
    /// Backpropagates <paramref name="gradient"/> (∂L/∂this, same shape as this tensor) through the recorded
    /// graph: every tensor that requires a gradient gets ∂L/∂tensor in <see cref="Grad"/>.
    /// </summary>
    public void Backward(Tensor gradient) => Backward(gradient, retainAll: false);

    /// <summary>
    /// Backpropagates from a scalar result keeping every intermediate gradient, as if each tensor of the graph had
    /// called <see cref="RetainGrad"/>: for the explain tools, which show ∂L/∂ of every node.
    /// </summary>
    internal void BackwardRetainingGrads()
    {
        if (Size != 1)
            throw new InvalidOperationException($"Backward() needs a one-element result, but this tensor has shape {Shapes.Format(dims)}.");
        Backward(Full(1f, (int[])dims.Clone()), retainAll: true);
    }

    private void Backward(Tensor gradient, bool retainAll)
    {
        ArgumentNullException.ThrowIfNull(gradient);
        if (!requiresGrad)
            throw new InvalidOperationException(
                "Backward(): this tensor does not require gradients; set RequiresGrad = true on the inputs you want gradients for.");
        if (!Shapes.Equal(gradient.dims, dims))
            throw new ShapeMismatchException(
                $"Backward(gradient): gradient shape {Shapes.Format(gradient.dims)} must equal the tensor's shape {Shapes.Format(dims)}.");

        var order = TopologicalOrder(this);
        try
        {
            // Intermediate results hold only this pass's gradient; leaves keep accumulating.
            foreach (var t in order) if (t.Node is not null) t.Grad = null;
            var hookedLeaves = TakeHookedLeafGrads(order);
            AccumulateGrad(gradient);
            using (GradMode.NoGrad())
            {
                for (int i = order.Count - 1; i >= 0; i--)
                {
                    var t = order[i];
                    if (t.Node is null || t.Grad is null) continue;
                    if (t.gradHooks is not null) t.Grad = t.RunGradHooks(t.Grad);
                    CheckSavedVersions(t.Node, t);
                    t.Node.Backward(t.Grad);
                    KeepOrDropGrad(t, retainAll);
                }
                if (hookedLeaves is not null) FinishHookedLeaves(hookedLeaves);
            }
        }
        finally
        {
            order.Clear();
            cachedOrder = order;
        }
    }

    /// <summary>
    /// After t's op has passed its gradient on: drops it (its rented storage straight back to the pool), or, when it
    /// is to be kept, makes sure it lives in ordinary memory that survives the step.
    /// </summary>
    private static void KeepOrDropGrad(Tensor t, bool retainAll)
    {
        var g = t.Grad!;
        if (!retainAll && !t.RetainsGrad)
        {
            t.Grad = null;
            TensorArena.Release(g);
        }
        else if (g.lease >= 0 || g.pooled)
        {
            t.Grad = new Tensor(g.dims, g.ToArray());
            TensorArena.Release(g);
        }
    }

    // Collections reused by every backward pass on this thread (taken while in use, so a nested pass makes its own).
    [ThreadStatic] private static List<Tensor>? cachedOrder;
    [ThreadStatic] private static HashSet<Tensor>? cachedVisited;
    [ThreadStatic] private static Stack<(Tensor Tensor, int NextInput)>? cachedStack;

    /// <summary>
    /// Every tensor that <paramref name="root"/> depends on and that requires a gradient, inputs before outputs.
    /// Iterative depth-first search, so deep graphs cannot overflow the stack.
    /// </summary>
    internal static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = cachedOrder ?? [];
        cachedOrder = null;
        var visited = cachedVisited ?? new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        cachedVisited = null;
        var stack = cachedStack ?? new Stack<(Tensor Tensor, int NextInput)>();
        cachedStack = null;
        visited.Add(root);
        stack.Push((root, 0));
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.Node?.Inputs ?? [];
            if (next < inputs.Length)
            {
                stack.Push((t, next + 1));
                var child = inputs[next];
                if (child.requiresGrad && visited.Add(child)) stack.Push((child, 0));
            }
            else order.Add(t);
        }
        visited.Clear();
        cachedVisited = visited;
        cachedStack = stack;
        return order;
    }
}
