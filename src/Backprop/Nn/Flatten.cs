using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>Flattens every dimension after the batch: [N, d1, d2, ...] → [N, d1·d2·...] (a view; no copy).</summary>
public sealed class Flatten : Module
{
    /// <summary>The input reshaped to [N, prod(rest)].</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank < 2)
            throw new ShapeMismatchException($"{this} expected input [N, ...] of rank 2 or more but got {Shapes.Format(input.dims)}.");
        return input.Reshape(input.Shape[0], -1);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new() { ["type"] = "Flatten" };

    /// <inheritdoc/>
    public override string ToString() => "Flatten";
}
