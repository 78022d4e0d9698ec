using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// A residual connection around <see cref="Body"/>: y = x + f(x), the skip path of a ResNet or transformer block.
/// f must keep the input's shape. Its parameters are named <c>body.…</c>.
/// </summary>
/// <param name="body">The module f.</param>
public sealed class Residual(Module body) : Module
{
    /// <summary>The wrapped module f.</summary>
    public Module Body { get; } = body ?? throw new ArgumentNullException(nameof(body));

    /// <summary>x + f(x).</summary>
    /// <exception cref="ShapeMismatchException">f changes the shape of its input.</exception>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var fx = Body.Forward(input);
        if (!fx.Shape.SequenceEqual(input.Shape))
            throw new ShapeMismatchException($"Residual({Body}) expected its body to keep the input shape {Shapes.Format([.. input.Shape])} but it returned {Shapes.Format([.. fx.Shape])}.");
        return input + fx;
    }

    /// <inheritdoc/>
    public override IEnumerable<(string Name, Module Module)> Children()
    {
        yield return ("body", Body);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new() { ["type"] = "Residual", ["body"] = Body.ToSpec() };

    /// <inheritdoc/>
    public override string ToString() => $"Residual({Body})";
}
