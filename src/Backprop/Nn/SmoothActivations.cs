namespace Backprop.Nn;

/// <summary>
/// GELU, x·Φ(x) with Φ the standard normal CDF (PyTorch's <c>nn.GELU()</c>), or with
/// <paramref name="approximateTanh"/> ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (<c>nn.GELU(approximate='tanh')</c>,
/// GPT-2's). Elementwise.
/// </summary>
/// <param name="approximateTanh">Whether to use the tanh approximation.</param>
public sealed class Gelu(bool approximateTanh = false) : Activation
{
    /// <summary>Whether the tanh approximation is used.</summary>
    public bool ApproximateTanh { get; } = approximateTanh;

    /// <inheritdoc/>
    public override string Name => ApproximateTanh ? "gelu_tanh" : "gelu";

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Gelu(ApproximateTanh);
}

/// <summary>SiLU (swish), x·σ(x), elementwise (PyTorch's <c>nn.SiLU</c>).</summary>
public sealed class Silu : Activation
{
    /// <inheritdoc/>
    public override string Name => "silu";

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Silu();
}
