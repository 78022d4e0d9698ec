using System.Numerics.Tensors;

namespace Backprop;

// Inverted dropout: the mask is drawn once in the forward pass and saved by the graph node, so the backward
// multiplies by exactly the same values (a layer never keeps it).
public sealed partial class Tensor
{
    /// <summary>
    /// Zeroes each element with probability <paramref name="p"/> and multiplies the kept ones by 1/(1 − p), so the
    /// expected value is unchanged: y = x ⊙ m with mᵢ ∈ {0, 1/(1 − p)}; ∂L/∂x = g ⊙ m.
    /// </summary>
    /// <remarks>
    /// One <see cref="Rng.NextFloat"/> per element, in row-major order: element i is dropped when that draw is below
    /// p. Kept values are computed as x·(1/(1 − p)) with 1/(1 − p) rounded to float32 first, as PyTorch does.
    /// p = 0 returns this tensor itself and draws nothing.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">p is not in [0, 1).</exception>
    public Tensor Dropout(float p, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (!(p >= 0f && p < 1f))
            throw new ArgumentOutOfRangeException(nameof(p), p, $"dropout probability must be in [0, 1) but got {p.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
        if (p == 0f) return this;

        var mask = TensorArena.Floats(Size);   // rented for the step inside Fit: the node below holds it until backward
        DrawDropoutMask(mask, p, rng);
        var y = Uninitialized(dims);
        TensorPrimitives.Multiply(data, mask, y.data);

        if (y.Record("dropout", DropoutBackward, this) is { } node) node.Buffer0 = mask;
        return y;
    }

    // dx = g ⊙ mask (the forward's multipliers, in Buffer0).
    private static readonly GradNode.StaticBackward DropoutBackward = static (node, g) =>
    {
        var input = node.Inputs[0];
        var dx = Uninitialized(input.dims);
        TensorPrimitives.Multiply(g.data, node.Buffer0!, dx.data);
        input.AccumulateOwnedGrad(dx);
    };

    /// <summary>
    /// Fills <paramref name="mask"/> with dropout's multipliers: one <see cref="Rng.NextFloat"/> per element in order,
    /// 0 where the draw is below p, else 1/(1 − p) (rounded to float32). p = 0 gives all ones and draws nothing.
    /// The compiled training step draws its masks here too, so both paths drop the same units.
    /// </summary>
    internal static void DrawDropoutMask(Span<float> mask, float p, Rng rng)
    {
        if (p == 0f)
        {
            mask.Fill(1f);
            return;
        }
        float keep = 1f / (1f - p);
        for (int i = 0; i < mask.Length; i++) mask[i] = rng.NextFloat() < p ? 0f : keep;
    }
}
