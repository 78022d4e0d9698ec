namespace Backprop.Nn;

public abstract partial class Module
{
    // Null until the first hook of each kind.
    private HookList<Func<Module, Tensor, Tensor?>>? preHooks;
    private HookList<Func<Module, Tensor, Tensor, Tensor?>>? forwardHooks;
    private HookList<Action<Module, Tensor?, Tensor>>? backwardHooks;

    /// <summary>
    /// Calls <paramref name="hook"/>(module, input) before every <see cref="Call(Tensor)"/> of this module runs
    /// <see cref="Forward(Tensor)"/> (PyTorch's <c>register_forward_pre_hook</c> returning a tensor); a non-null result
    /// replaces the input. Pre-hooks of both kinds run in registration order, each seeing the previous one's input.
    /// </summary>
    /// <returns>A handle whose <see cref="HookHandle.Dispose"/> removes the hook.</returns>
    public HookHandle RegisterReplacingForwardPreHook(Func<Module, Tensor, Tensor?> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (preHooks is null) Interlocked.CompareExchange(ref preHooks, new HookList<Func<Module, Tensor, Tensor?>>(), null);
        return preHooks.Add(hook);
    }

    /// <summary>
    /// Calls <paramref name="hook"/>(module, input) before every <see cref="Call(Tensor)"/> of this module runs
    /// <see cref="Forward(Tensor)"/> (PyTorch's <c>register_forward_pre_hook</c>), to look: the input goes on unchanged (see
    /// <see cref="RegisterReplacingForwardPreHook"/> to change it). A separate name, because C# would otherwise take
    /// <c>(m, x) =&gt; count++</c> as a replacement through the number-to-tensor conversion.
    /// </summary>
    /// <returns>A handle whose <see cref="HookHandle.Dispose"/> removes the hook.</returns>
    public HookHandle RegisterForwardPreHook(Action<Module, Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return RegisterReplacingForwardPreHook((m, x) =>
        {
            hook(m, x);
            return null;
        });
    }

    /// <summary>
    /// Calls <paramref name="hook"/>(module, input, output) after every <see cref="Call(Tensor)"/> of this module has run
    /// <see cref="Forward(Tensor)"/> (PyTorch's <c>register_forward_hook</c> returning a tensor); a non-null result replaces
    /// the output, and the next hook sees it. See <see cref="RegisterForwardHook"/> for where hooks fire.
    /// </summary>
    /// <returns>A handle whose <see cref="HookHandle.Dispose"/> removes the hook.</returns>
    public HookHandle RegisterReplacingForwardHook(Func<Module, Tensor, Tensor, Tensor?> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (forwardHooks is null) Interlocked.CompareExchange(ref forwardHooks, new HookList<Func<Module, Tensor, Tensor, Tensor?>>(), null);
        return forwardHooks.Add(hook);
    }

    /// <summary>
    /// Calls <paramref name="hook"/>(module, input, output) after every <see cref="Call(Tensor)"/> of this module has run
    /// <see cref="Forward(Tensor)"/> (PyTorch's <c>register_forward_hook</c>), to look: the output goes on unchanged (see
    /// <see cref="RegisterReplacingForwardHook"/> to change it). The output is part of the graph: a hook may register
    /// a gradient hook on it (<c>output.RegisterHook(g =&gt; ...)</c>) to see ∂L/∂output in the backward pass.
    /// </summary>
    /// <remarks>
    /// Hooks fire through <see cref="Call(Tensor)"/>, the entry point <see cref="Sequential"/>, <c>Fit</c>, <c>Predict</c>
    /// and <c>Evaluate</c> use; a custom module should call its children with <c>child.Call(x)</c> too (as PyTorch
    /// code writes <c>self.fc(x)</c>, not <c>self.fc.forward(x)</c>), since <c>child.Forward(x)</c> skips their hooks.
    /// A model with hooks trains and predicts through the autograd graph, which runs them (the compiled step would
    /// not), and <see cref="Training.History.EngineReason"/> says so; a hook registered while the compiled step is
    /// training stops <c>Fit</c> with an error rather than being skipped.
    /// </remarks>
    /// <returns>A handle whose <see cref="HookHandle.Dispose"/> removes the hook.</returns>
    public HookHandle RegisterForwardHook(Action<Module, Tensor, Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return RegisterReplacingForwardHook((m, x, y) =>
        {
            hook(m, x, y);
            return null;
        });
    }

    /// <summary>
    /// Calls <paramref name="hook"/>(module, ∂L/∂input, ∂L/∂output) in the backward pass of every <see cref="Call(Tensor)"/>
    /// of this module, once the gradient of the call's input is known (PyTorch's <c>register_full_backward_hook</c>,
    /// to look): ∂L/∂input is this call's share only, and null when the input needs no gradient (the data going into a
    /// first layer), in which case the hook runs as soon as ∂L/∂output is known. The tensors are reused once the pass
    /// moves on: <c>Clone()</c> what you keep. A call whose output does not reach the loss runs no hook.
    /// </summary>
    /// <returns>A handle whose <see cref="HookHandle.Dispose"/> removes the hook.</returns>
    public HookHandle RegisterFullBackwardHook(Action<Module, Tensor?, Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (backwardHooks is null) Interlocked.CompareExchange(ref backwardHooks, new HookList<Action<Module, Tensor?, Tensor>>(), null);
        return backwardHooks.Add(hook);
    }

    /// <summary>Whether a forward or pre-forward hook is registered on this module itself.</summary>
    internal bool HasForwardHooks => preHooks is { IsEmpty: false } || forwardHooks is { IsEmpty: false };

    /// <summary>Whether a backward hook is registered on this module itself.</summary>
    internal bool HasBackwardHooks => backwardHooks is { IsEmpty: false };

    // Call's path when some hook is registered: pre-hooks, then (for backward hooks) the input wrapped, Forward,
    // hooks, then the output wrapped — PyTorch's order.
    private Tensor CallWithHooks(Tensor input)
    {
        if (preHooks is { } pre)
            foreach (var hook in pre.Snapshot)
                input = hook(this, input) ?? input;
        BackwardCall? backward = backwardHooks is { IsEmpty: false } hooks ? new BackwardCall(this, hooks.Snapshot) : null;
        if (backward is not null)
        {
            var wrapped = input.Observed("backward_hook", backward.InputGradient);
            backward.TracksInput = !ReferenceEquals(wrapped, input);
            input = wrapped;
        }
        var output = Forward(input);
        if (forwardHooks is { } post)
            foreach (var hook in post.Snapshot)
                output = hook(this, input, output) ?? output;
        return backward is null ? output : output.Observed("backward_hook", backward.OutputGradient);
    }

    // One call's backward hooks: ∂L/∂output arrives first (kept, since the pass reuses it), then ∂L/∂input.
    private sealed class BackwardCall(Module module, Action<Module, Tensor?, Tensor>[] hooks)
    {
        private Tensor? outputGradient;

        public bool TracksInput { get; set; }

        public void OutputGradient(Tensor g)
        {
            if (!TracksInput)
            {
                foreach (var hook in hooks) hook(module, null, g);
                return;
            }
            outputGradient = g.Clone();
        }

        public void InputGradient(Tensor g)
        {
            if (outputGradient is null) return;
            foreach (var hook in hooks) hook(module, g, outputGradient);
        }
    }

    /// <summary>
    /// Why a compiled path would skip hooks of this model, or null when it has none: the first module (this one or a
    /// descendant) with forward hooks, or, for <paramref name="training"/>, with backward hooks, or the first parameter
    /// with a gradient hook.
    /// </summary>
    internal string? HooksReason(bool training)
    {
        foreach (var (path, module) in Walk(static m => m.Children()).Prepend(("", this)))
        {
            string which = module.HasForwardHooks ? "forward" : training && module.HasBackwardHooks ? "backward" : "";
            if (which.Length == 0) continue;
            string who = path.Length == 0 ? $"the model {module}" : $"the module '{path}' ({module})";
            return $"{who} has {which} hooks, which the compiled step would not call";
        }
        if (training)
            foreach (var (name, p) in NamedParameters())
                if (p.HasGradHooks) return $"the parameter '{name}' has a gradient hook, which the compiled step would not call";
        return null;
    }
}
