using System.Globalization;
using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// Inverted dropout: while training, zeroes each value with probability p and scales the kept ones by 1/(1 − p);
/// in evaluation mode it returns its input unchanged (no copy).
/// </summary>
/// <remarks>
/// The masks come from this layer's own <see cref="Generator"/> (exposed to checkpoints as <c>generator</c>), so a
/// run is reproducible and a resumed run draws the same masks. The mask of a call is kept by its graph node, never
/// by the layer.
/// </remarks>
public sealed class Dropout : Module
{
    /// <summary>Creates a dropout layer.</summary>
    /// <param name="p">Probability of zeroing each value, in [0, 1).</param>
    /// <param name="rng">Generator of the masks; default a new one seeded from <see cref="Init.DefaultRng"/>, so
    /// <see cref="Init.ManualSeed"/> makes runs reproducible.</param>
    /// <exception cref="ArgumentOutOfRangeException">p is not in [0, 1).</exception>
    public Dropout(float p = 0.5f, Rng? rng = null)
    {
        if (!(p >= 0f && p < 1f))
            throw new ArgumentOutOfRangeException(nameof(p), p, $"Dropout expected a probability p in [0, 1) but got {p.ToString(CultureInfo.InvariantCulture)}.");
        P = p;
        if (rng is null)
        {
            var seeder = Init.DefaultRng;
            rng = new Rng(((long)seeder.NextUInt() << 32) | seeder.NextUInt());
        }
        Generator = rng;
    }

    /// <summary>The probability of zeroing a value while training.</summary>
    public float P { get; }

    /// <summary>The generator the masks are drawn from.</summary>
    public Rng Generator { get; }

    /// <summary>Training: x ⊙ m with mᵢ ∈ {0, 1/(1 − p)}; evaluation: x itself.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return IsTraining ? input.Dropout(P, Generator) : input;
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Rng Generator)> OwnGenerators()
    {
        yield return ("generator", Generator);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new() { ["type"] = "Dropout", ["p"] = P };

    /// <inheritdoc/>
    public override string ToString() => $"Dropout(p={P.ToString(CultureInfo.InvariantCulture)})";
}
