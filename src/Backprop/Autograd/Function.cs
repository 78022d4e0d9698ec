namespace Backprop;

/// <summary>
/// An op with its own forward and backward, like PyTorch's <c>torch.autograd.Function</c>: the graph records one node
/// for it, and <see cref="Tensor.Backward()"/> calls <see cref="Backward"/> with ∂L/∂output to get ∂L/∂input for each
/// input. Check it with <c>GradCheck.Check(x =&gt; fn.Apply(x[0]), input)</c>.
/// </summary>
/// <example>
/// <code>
/// sealed class Cube : Function
/// {
///     protected override Tensor Forward(FunctionContext ctx, IReadOnlyList&lt;Tensor&gt; x)
///     {
///         ctx.SaveForBackward(x[0]);
///         return x[0] * x[0] * x[0];
///     }
///     protected override Tensor?[] Backward(FunctionContext ctx, Tensor g) =&gt; [g * 3f * ctx.Saved[0] * ctx.Saved[0]];
/// }
/// var y = new Cube().Apply(x);
/// </code>
/// </example>
public abstract class Function
{
    /// <summary>The op's name in graphs and error messages; the class name by default.</summary>
    public virtual string Name => GetType().Name;

    /// <summary>
    /// Computes the output from the inputs' values. It runs with recording off: the tensor ops used here are not
    /// part of the graph, only the one node <see cref="Apply"/> records. Save what <see cref="Backward"/> reads with
    /// <see cref="FunctionContext.SaveForBackward"/>.
    /// </summary>
    protected abstract Tensor Forward(FunctionContext context, IReadOnlyList<Tensor> inputs);

    /// <summary>
    /// Given ∂L/∂output (the output's shape), returns ∂L/∂input for each input, in order and of each input's shape;
    /// <c>null</c> for an input with no gradient (an index, a constant). It runs with recording off.
    /// </summary>
    protected abstract Tensor?[] Backward(FunctionContext context, Tensor outputGradient);

    /// <summary>Runs <see cref="Forward"/> on <paramref name="inputs"/> and records <see cref="Backward"/> for them.</summary>
    /// <exception cref="InvalidOperationException">Forward returned null.</exception>
    public Tensor Apply(params Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i] is null) throw new ArgumentNullException(nameof(inputs), $"{Name}: input {i} is null.");
        var context = new FunctionContext();
        Tensor output;
        using (GradMode.NoGrad())
            output = Forward(context, inputs) ?? throw new InvalidOperationException($"{Name}.Forward returned null; it must return the output tensor.");
        // A result that is one of the inputs, or a leaf that requires a gradient, must not become this op's node: copy it.
        if (output.RequiresGrad || inputs.Any(x => ReferenceEquals(x, output))) output = output.Clone();
        var inputsCopy = (Tensor[])inputs.Clone();
        return output.Record(Name, inputsCopy, g => AccumulateGradients(context, g, inputsCopy), [.. context.Saved]);
    }

    private void AccumulateGradients(FunctionContext context, Tensor outputGradient, Tensor[] inputs)
    {
        var grads = Backward(context, outputGradient)
            ?? throw new InvalidOperationException($"{Name}.Backward returned null; it must return one gradient (or null) per input.");
        if (grads.Length != inputs.Length)
            throw new InvalidOperationException($"{Name}.Backward returned {grads.Length} gradient(s) for {inputs.Length} input(s); return one per input, null where there is none.");
        for (int i = 0; i < inputs.Length; i++)
        {
            if (grads[i] is not { } g || !inputs[i].RequiresGrad) continue;
            if (!Shapes.Equal(g.dims, inputs[i].dims))
                throw new ShapeMismatchException($"{Name}.Backward returned a gradient of shape {Shapes.Format(g.dims)} for input {i} of shape {Shapes.Format(inputs[i].dims)}; they must be equal.");
            inputs[i].AccumulateGrad(g);
        }
    }
}

/// <summary>What a <see cref="Function"/>'s forward keeps for its backward (PyTorch's <c>ctx</c>).</summary>
public sealed class FunctionContext
{
    private readonly List<Tensor> saved = [];

    /// <summary>
    /// Keeps tensors (inputs or the output) for <see cref="Function"/>'s backward; <see cref="Tensor.Backward()"/>
    /// refuses to run if one of them is written in place in between, as for built-in ops.
    /// </summary>
    public void SaveForBackward(params Tensor[] tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        saved.AddRange(tensors);
    }

    /// <summary>The tensors saved by <see cref="SaveForBackward"/>, in order.</summary>
    public IReadOnlyList<Tensor> Saved => saved;

    /// <summary>Any other value the forward computes for the backward (a mask, a scale).</summary>
    public object? State { get; set; }
}
