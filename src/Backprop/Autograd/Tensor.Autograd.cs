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
    /// backward passes until <see cref="ZeroGrad"/>; on intermediate results they hold the latest pass.
    /// </summary>
    public Tensor? Grad { get; set; }

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

    /// <summary>Adds <paramref name="gradient"/> (same shape as this tensor) into <see cref="Grad"/>.</summary>
    internal void AccumulateGrad(Tensor gradient)
    {
        if (!Shapes.Equal(gradient.dims, dims))
            throw new ShapeMismatchException(
                $"gradient of shape {Shapes.Format(gradient.dims)} does not match tensor of shape {Shapes.Format(dims)}" +
                (Node is null ? "" : $" (output of '{Node.Op}')") + ".");
        if (Grad is null) Grad = gradient.Clone();
        else System.Numerics.Tensors.TensorPrimitives.Add(Grad.data, gradient.data, Grad.data);
    }

    /// <summary>Backpropagates from a scalar (one-element) result: ∂this/∂this = 1.</summary>
    public void Backward()
    {
        if (Size != 1)
            throw new InvalidOperationException(
                $"Backward() without a gradient needs a one-element result, but this tensor has shape {Shapes.Format(dims)}; " +
                "pass the upstream gradient explicitly with Backward(gradient).");
        Backward(OnesLike(this));
    }

    /// <summary>
    /// Backpropagates <paramref name="gradient"/> (∂L/∂this, same shape as this tensor) through the recorded
    /// graph: every tensor that requires a gradient gets ∂L/∂tensor in <see cref="Grad"/>.
    /// </summary>
    public void Backward(Tensor gradient)
    {
        ArgumentNullException.ThrowIfNull(gradient);
        if (!requiresGrad)
            throw new InvalidOperationException(
                "Backward(): this tensor does not require gradients; set RequiresGrad = true on the inputs you want gradients for.");
        if (!Shapes.Equal(gradient.dims, dims))
            throw new ShapeMismatchException(
                $"Backward(gradient): gradient shape {Shapes.Format(gradient.dims)} must equal the tensor's shape {Shapes.Format(dims)}.");

        var order = TopologicalOrder(this);
        // Intermediate results hold only this pass's gradient; leaves keep accumulating.
        foreach (var t in order) if (t.Node is not null) t.Grad = null;
        AccumulateGrad(gradient);
        using (GradMode.NoGrad())
        {
            for (int i = order.Count - 1; i >= 0; i--)
            {
                var t = order[i];
                if (t.Node is null || t.Grad is null) continue;
                CheckSavedVersions(t.Node, t);
                t.Node.Backward(t.Grad);
            }
        }
    }

    /// <summary>
    /// Every tensor that <paramref name="root"/> depends on and that requires a gradient, inputs before outputs.
    /// Iterative depth-first search, so deep graphs cannot overflow the stack.
    /// </summary>
    internal static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor Tensor, int NextInput)>();
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
        return order;
    }
}
