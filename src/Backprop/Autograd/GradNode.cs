namespace Backprop;

/// <summary>
/// One recorded operation in the define-by-run graph: which op made a tensor, from which inputs, and how the gradient
/// of its output becomes gradients of its inputs (accumulated with <c>+=</c>).
/// </summary>
/// <remarks>
/// An op states its backward in one of two forms. A closure (<see cref="Action{Tensor}"/>) captures whatever it
/// needs; it is the simple form, and it allocates the closure and the node on every call. A static backward
/// (<see cref="StaticBackward"/>, a <c>static</c> lambda, so the delegate is cached) reads everything from the node:
/// its <see cref="Inputs"/>, its <see cref="Output"/> and a few scalar and buffer slots. Inside a
/// <see cref="TensorArena"/> step the node of a static backward comes from the step's pool with its arrays and
/// returns there when the step closes, so the hot ops of a steady-state training step allocate nothing.
/// </remarks>
internal sealed class GradNode
{
    /// <summary>Backward of the static form: adds ∂L/∂input into each input of <paramref name="node"/> from ∂L/∂output <paramref name="grad"/>.</summary>
    internal delegate void StaticBackward(GradNode node, Tensor grad);

    public GradNode(string op, Tensor[] inputs, Action<Tensor> backward, Tensor[] saved)
    {
        Op = op;
        Inputs = inputs;
        closure = backward;
        Saved = saved;
        SavedVersions = saved.Length == 0 ? [] : new int[saved.Length];
        for (int i = 0; i < saved.Length; i++) SavedVersions[i] = saved[i].Version;
    }

    // A node of the static form, with arrays sized for its inputs and saved tensors (filled by the recorder).
    internal GradNode(int inputs, int saved)
    {
        Op = "";
        Inputs = new Tensor[inputs];
        Saved = saved == 0 ? [] : new Tensor[saved];
        SavedVersions = saved == 0 ? [] : new int[saved];
    }

    /// <summary>Short op name, e.g. <c>add</c>, <c>matmul</c>, <c>sigmoid</c>: shown in graphs and errors.</summary>
    public string Op { get; private set; }

    /// <summary>The tensors this op read.</summary>
    public Tensor[] Inputs { get; }

    /// <summary>The tensors (inputs or the output) whose values the backward reads.</summary>
    public Tensor[] Saved { get; }

    /// <summary>The <see cref="Tensor.Version"/> of each saved tensor when the op ran.</summary>
    public int[] SavedVersions { get; }

    private Action<Tensor>? closure;
    private StaticBackward? staticBackward;

    /// <summary>Whether this node belongs to a step's pool (returned when its output tensor is).</summary>
    internal bool Pooled { get; init; }

    /// <summary>The tensor this op produced (static form).</summary>
    internal Tensor? Output;

    /// <summary>Sizes and counts the static backward needs (rows, columns, heads, ...).</summary>
    internal int I0, I1, I2, I3;

    /// <summary>A scalar the static backward needs (a scale, an epsilon, a divisor).</summary>
    internal float F0;

    /// <summary>Scalars the static backward needs in double (a loss's scale and parameter).</summary>
    internal double D0, D1;

    /// <summary>Step-scoped buffers the forward saved for the backward (statistics, probabilities, masks).</summary>
    internal float[]? Buffer0, Buffer1, Buffer2, Buffer3;

    /// <summary>Any other object the static backward reads (an existing one: storing it must not allocate).</summary>
    internal object? State;

    /// <summary>Given ∂L/∂output, adds ∂L/∂input into each input that requires a gradient.</summary>
    public void Backward(Tensor grad)
    {
        if (staticBackward is { } run) run(this, grad);
        else closure!(grad);
    }

    /// <summary>Makes this (pooled or new) node the record of <paramref name="op"/>; its arrays are then filled by the recorder.</summary>
    internal void Begin(string op, Tensor output, StaticBackward backward)
    {
        Op = op;
        Output = output;
        staticBackward = backward;
    }

    /// <summary>Lets go of everything the step's graph held, before the node goes back to its pool.</summary>
    internal void Clear()
    {
        Array.Clear(Inputs);
        Array.Clear(Saved);
        Output = null;
        staticBackward = null;
        (I0, I1, I2, I3, F0, D0, D1) = (0, 0, 0, 0, 0f, 0d, 0d);
        (Buffer0, Buffer1, Buffer2, Buffer3, State) = (null, null, null, null, null);
    }
}
