namespace Backprop;

/// <summary>
/// One recorded operation in the define-by-run graph: which op made a tensor, from which inputs, and the closure
/// that turns the gradient of its output into gradients of its inputs (accumulated with <c>+=</c>).
/// </summary>
internal sealed class GradNode
{
    public GradNode(string op, Tensor[] inputs, Action<Tensor> backward, Tensor[] saved)
    {
        Op = op;
        Inputs = inputs;
        Backward = backward;
        Saved = saved;
        SavedVersions = saved.Length == 0 ? [] : new int[saved.Length];
        for (int i = 0; i < saved.Length; i++) SavedVersions[i] = saved[i].Version;
    }

    /// <summary>Short op name, e.g. <c>add</c>, <c>matmul</c>, <c>sigmoid</c>: shown in graphs and errors.</summary>
    public string Op { get; }

    /// <summary>The tensors this op read.</summary>
    public Tensor[] Inputs { get; }

    /// <summary>Given ∂L/∂output, adds ∂L/∂input into each input that requires a gradient.</summary>
    public Action<Tensor> Backward { get; }

    /// <summary>The tensors (inputs or the output) whose values <see cref="Backward"/> reads.</summary>
    public Tensor[] Saved { get; }

    /// <summary>The <see cref="Tensor.Version"/> of each saved tensor when the op ran.</summary>
    public int[] SavedVersions { get; }
}
