namespace Backprop;

public sealed partial class Tensor
{
    // Null until the first hook; see RegisterHook.
    private HookList<Func<Tensor, Tensor?>>? gradHooks;

    /// <summary>
    /// Calls <paramref name="hook"/> with ∂L/∂this each time <see cref="Backward()"/> computes it (PyTorch's
    /// <c>register_hook</c> returning a tensor); a non-null result replaces the gradient (same shape), and is what
    /// flows on to the inputs, or, for a leaf, what is added to <see cref="Grad"/>. Hooks of both kinds run in
    /// registration order, each seeing the previous one's result, with recording off. A leaf's hook sees the whole
    /// of this pass's gradient (summed over its uses) before it is added to what <see cref="Grad"/> already holds.
    /// </summary>
    /// <returns>A handle whose <see cref="HookHandle.Dispose"/> removes the hook.</returns>
    /// <exception cref="InvalidOperationException">This tensor does not require gradients, so no gradient will reach it.</exception>
    public HookHandle RegisterReplacingHook(Func<Tensor, Tensor?> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (!requiresGrad)
            throw new InvalidOperationException("cannot register a gradient hook on a tensor that does not require gradients; set RequiresGrad = true on it (or on the inputs of the op that made it) first.");
        if (gradHooks is null) Interlocked.CompareExchange(ref gradHooks, new HookList<Func<Tensor, Tensor?>>(), null);
        return gradHooks.Add(hook);
    }

    /// <summary>
    /// Calls <paramref name="hook"/> with ∂L/∂this each time <see cref="Backward()"/> computes it (PyTorch's
    /// <c>register_hook</c>), to look: the gradient goes on unchanged (see <see cref="RegisterReplacingHook"/> to
    /// change it; a separate name, because C# would otherwise take <c>g =&gt; count++</c> as a replacement through the
    /// number-to-tensor conversion). A leaf's hook sees this pass's whole gradient once, summed over its uses. The
    /// gradient an intermediate result's hook sees is reused once the pass moves on: <c>Clone()</c> it to keep it.
    /// </summary>
    /// <returns>A handle whose <see cref="HookHandle.Dispose"/> removes the hook.</returns>
    /// <exception cref="InvalidOperationException">This tensor does not require gradients, so no gradient will reach it.</exception>
    public HookHandle RegisterHook(Action<Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return RegisterReplacingHook(g =>
        {
            hook(g);
            return null;
        });
    }

    /// <summary>
    /// An identity op over this tensor (a view: no copy) whose backward shows ∂L/∂result to <paramref name="observe"/>
    /// before passing it on unchanged; this tensor itself when no gradient will flow to it. Module backward hooks wrap
    /// a call's input and output in it, so the gradients they see are exactly that call's.
    /// </summary>
    internal Tensor Observed(string op, Action<Tensor> observe)
    {
        if (!requiresGrad || !GradMode.IsEnabled) return this;
        var view = new Tensor(dims, data) { Name = Name }.ViewOf(this);
        return view.Record(op, [this], g =>
        {
            observe(g);
            AccumulateGrad(g);
        });
    }

    /// <summary>Whether a gradient hook is registered on this tensor.</summary>
    internal bool HasGradHooks => gradHooks is { IsEmpty: false };

    // ∂L/∂this after every hook had its say: g itself when none replaced it.
    private Tensor RunGradHooks(Tensor g)
    {
        foreach (var hook in gradHooks!.Snapshot)
        {
            if (hook(g) is not { } replaced) continue;
            if (!Shapes.Equal(replaced.dims, dims))
                throw new ShapeMismatchException(
                    $"a gradient hook returned shape {Shapes.Format(replaced.dims)} for a tensor of shape {Shapes.Format(dims)}" +
                    (Node is null ? "" : $" (output of '{Node.Op}')") + "; return the gradient's shape, or null to keep it.");
            g = replaced;
        }
        return g;
    }

    /// <summary>
    /// Before a backward pass: the leaves of <paramref name="order"/> that have hooks, each with the gradient it held
    /// (taken out, so this pass's gradient collects alone for the hooks to see); null when there are none.
    /// </summary>
    private static List<(Tensor Leaf, Tensor? Earlier)>? TakeHookedLeafGrads(List<Tensor> order)
    {
        List<(Tensor, Tensor?)>? hooked = null;
        foreach (var t in order)
        {
            if (t.Node is not null || !t.HasGradHooks) continue;
            (hooked ??= []).Add((t, t.Grad));
            t.Grad = null;
        }
        return hooked;
    }

    /// <summary>After the pass: each hooked leaf's gradient through its hooks, added to what it held before.</summary>
    private static void FinishHookedLeaves(List<(Tensor Leaf, Tensor? Earlier)> hooked)
    {
        foreach (var (leaf, earlier) in hooked)
        {
            if (leaf.Grad is not { } pass)
            {
                leaf.Grad = earlier;   // no gradient reached it in this pass
                continue;
            }
            var g = leaf.RunGradHooks(pass);
            // pass is the leaf's own storage (CopyAsGrad); a replacement may be rented for the step, so copy it in.
            if (!ReferenceEquals(g, pass)) g.AsSpan().CopyTo(pass.AsSpan());
            if (earlier is not null)
            {
                System.Numerics.Tensors.TensorPrimitives.Add(earlier.data, pass.data, earlier.data);
                leaf.Grad = earlier;
            }
            else leaf.Grad = pass;
        }
    }
}
