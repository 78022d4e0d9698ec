using System.Globalization;
using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// Views each example of a batch in a new shape, keeping the batch axis: <c>[N, F] → [N, ..sampleShape]</c>. It is how
/// rows of pixels become images for convolutional layers (<c>reshape(1,28,28)</c> in the model language), and, with a
/// single size, how images become rows again. No copy: the output shares the input's storage.
/// </summary>
public sealed class Reshape : Module
{
    private readonly int[] sampleShape;

    /// <summary>Creates a reshape to <paramref name="sampleShape"/> per example (every size positive).</summary>
    public Reshape(params int[] sampleShape)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Length == 0 || sampleShape.Any(d => d <= 0))
            throw new ArgumentException($"Reshape expected one or more positive sizes per example but got {Shapes.Format(sampleShape)}.", nameof(sampleShape));
        this.sampleShape = [.. sampleShape];
        SampleSize = Shapes.Size(sampleShape);
    }

    /// <summary>The shape of one example after the reshape, e.g. [1, 28, 28].</summary>
    public IReadOnlyList<int> SampleShape => sampleShape;

    /// <summary>The number of values per example (the product of <see cref="SampleShape"/>).</summary>
    public int SampleSize { get; }

    /// <summary>[N, a, b, ...] with a·b·... = <see cref="SampleSize"/> → [N, ..SampleShape].</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank < 1 || input.Size != input.Shape[0] * SampleSize)
            throw new ShapeMismatchException($"{this} expected input [N, ...] with {SampleSize} values per example but got {Shapes.Format(input.dims)}.");
        Span<int> shape = stackalloc int[1 + sampleShape.Length];   // [N, ..sample], without an array per call
        shape[0] = input.Shape[0];
        sampleShape.CopyTo(shape[1..]);
        return input.Reshape(shape);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new() { ["type"] = "Reshape", ["shape"] = new JsonArray([.. sampleShape.Select(d => (JsonNode)d)]) };

    /// <inheritdoc/>
    public override string ToString() => $"Reshape({string.Join("×", sampleShape.Select(d => d.ToString(CultureInfo.InvariantCulture)))})";
}
