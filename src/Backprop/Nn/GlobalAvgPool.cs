using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// Global average pooling: [N, C, *spatial] → [N, C], each channel's mean over all its positions (PyTorch's
/// <c>nn.AdaptiveAvgPool2d(1)</c> followed by flatten). ∂L/∂x = g/(positions), spread evenly.
/// </summary>
public sealed class GlobalAvgPool : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank < 3)
            throw new ShapeMismatchException($"{this} expected input [N, C, ...] with at least one spatial axis but got {Shapes.Format([.. input.Shape])}.");
        return input.Reshape(input.Shape[0], input.Shape[1], -1).Mean(2);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new() { ["type"] = "GlobalAvgPool" };

    /// <inheritdoc/>
    public override string ToString() => "GlobalAvgPool";
}
