using System.Globalization;
using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// Layer normalisation (PyTorch's <c>nn.LayerNorm</c>): each example's last axes (the normalised shape) are
/// normalised with their own mean and biased variance, <c>y = (x − μ)/√(σ² + ε)·γ + β</c>, with γ (<c>weight</c>,
/// initially 1) and β (<c>bias</c>, initially 0) of the normalised shape. The same in training and evaluation.
/// Forward and backward are one fused op, <see cref="Tensor.LayerNorm"/>.
/// </summary>
public sealed class LayerNorm : Module
{
    /// <summary>Creates the layer for inputs [*, ...normalizedShape].</summary>
    /// <param name="normalizedShape">The trailing axes normalised together, e.g. [dim].</param>
    /// <param name="eps">ε added to the variance.</param>
    /// <param name="elementwiseAffine">Whether to learn γ and β.</param>
    public LayerNorm(int[] normalizedShape, float eps = 1e-5f, bool elementwiseAffine = true)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
            throw new ArgumentOutOfRangeException(nameof(normalizedShape), $"LayerNorm expected a normalised shape of positive sizes but got {Shapes.Format(normalizedShape)}.");
        if (!(eps > 0f))
            throw new ArgumentOutOfRangeException(nameof(eps), eps, $"LayerNorm expected eps > 0 but got {eps.ToString(CultureInfo.InvariantCulture)}.");
        NormalizedShape = (int[])normalizedShape.Clone();
        Eps = eps;
        if (elementwiseAffine)
        {
            Weight = Tensor.Ones([.. NormalizedShape]).RequireGrad();
            Bias = Tensor.Zeros([.. NormalizedShape]).RequireGrad();
        }
    }

    /// <summary>Creates the layer for inputs [*, dim].</summary>
    public LayerNorm(int dim, float eps = 1e-5f, bool elementwiseAffine = true) : this([dim], eps, elementwiseAffine) { }

    /// <summary>The trailing axes normalised together.</summary>
    public IReadOnlyList<int> NormalizedShape { get; }

    /// <summary>ε added to the variance.</summary>
    public float Eps { get; }

    /// <summary>γ of the normalised shape, or null without affine parameters.</summary>
    public Tensor? Weight { get; }

    /// <summary>β of the normalised shape, or null without affine parameters.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int k = NormalizedShape.Count;
        if (!EndsWithNormalizedShape(input))
            throw new ShapeMismatchException($"{this} expected input [*, {string.Join(", ", NormalizedShape)}] but got {Shapes.Format([.. input.Shape])}.");
        return Tensor.LayerNorm(input, k, Weight, Bias, Eps);
    }

    private bool EndsWithNormalizedShape(Tensor input)
    {
        int k = NormalizedShape.Count, skip = input.Rank - k;
        if (skip < 0) return false;
        for (int i = 0; i < k; i++)
            if (input.Shape[skip + i] != NormalizedShape[i]) return false;
        return true;
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Tensor Parameter)> OwnParameters()
    {
        if (Weight is not null) yield return ("weight", Weight);
        if (Bias is not null) yield return ("bias", Bias);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new()
    {
        ["type"] = "LayerNorm", ["shape"] = new JsonArray([.. NormalizedShape.Select(d => (JsonNode)d)]), ["eps"] = Eps, ["affine"] = Weight is not null,
    };

    /// <inheritdoc/>
    public override string ToString() =>
        $"LayerNorm({string.Join("×", NormalizedShape)}{(Eps != 1e-5f ? $", eps={Eps.ToString(CultureInfo.InvariantCulture)}" : "")}{(Weight is null ? ", affine=false" : "")})";
}
