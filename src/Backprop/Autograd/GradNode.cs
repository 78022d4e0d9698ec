namespace Backprop;

/// <summary>
/// One recorded operation in the define-by-run graph: which op made a tensor, from which inputs, and the closure
/// that turns the gradient of its output into gradients of its inputs (accumulated with <c>+=</c>).
/// </summary>
internal sealed class GradNode(string op, Tensor[] inputs, Action<Tensor> backward)
{
    /// <summary>Short op name, e.g. <c>add</c>, <c>matmul</c>, <c>sigmoid</c>: shown in graphs and errors.</summary>
    public string Op { get; } = op;

    /// <summary>The tensors this op read.</summary>
    public Tensor[] Inputs { get; } = inputs;

    /// <summary>Given ∂L/∂output, adds ∂L/∂input into each input that requires a gradient.</summary>
    public Action<Tensor> Backward { get; } = backward;
}
