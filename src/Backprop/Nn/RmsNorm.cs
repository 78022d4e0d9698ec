using System.Globalization;
using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// Root-mean-square normalisation (PyTorch 2.4's <c>nn.RMSNorm</c>): <c>y = x/√(mean(x²) + ε)·γ</c> over the last
/// axis, γ (<c>weight</c>, initially 1) of size dim; no centring and no bias. ε defaults to float32's machine
/// epsilon (2⁻²³), PyTorch's default when eps is None. Forward and backward are one fused op, <see cref="Tensor.RmsNorm"/>.
/// </summary>
public sealed class RmsNorm : Module
{
    /// <summary>Creates the layer for inputs [*, dim].</summary>
    /// <param name="dim">The size of the last axis.</param>
    /// <param name="eps">ε added to the mean square; null for float32's machine epsilon.</param>
    /// <param name="elementwiseAffine">Whether to learn γ.</param>
    public RmsNorm(int dim, float? eps = null, bool elementwiseAffine = true)
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, $"RMSNorm expected a positive size but got {dim}.");
        float e = eps ?? MachineEpsilon;
        if (!(e > 0f)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"RMSNorm expected eps > 0 but got {e.ToString(CultureInfo.InvariantCulture)}.");
        Dim = dim;
        Eps = e;
        if (elementwiseAffine) Weight = Tensor.Ones(dim).RequireGrad();
    }

    /// <summary>float32's machine epsilon, 2⁻²³: PyTorch's ε when none is given.</summary>
    public const float MachineEpsilon = 1.1920929e-07f;

    /// <summary>The size of the normalised last axis.</summary>
    public int Dim { get; }

    /// <summary>ε added to the mean square.</summary>
    public float Eps { get; }

    /// <summary>γ [dim], or null without affine parameters.</summary>
    public Tensor? Weight { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank < 1 || input.Shape[^1] != Dim)
            throw new ShapeMismatchException($"{this} expected input [*, {Dim}] but got {Shapes.Format([.. input.Shape])}.");
        return Tensor.RmsNorm(input, 1, Weight, Eps);
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Tensor Parameter)> OwnParameters()
    {
        if (Weight is not null) yield return ("weight", Weight);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new() { ["type"] = "RMSNorm", ["dim"] = Dim, ["eps"] = Eps, ["affine"] = Weight is not null };

    /// <inheritdoc/>
    public override string ToString() =>
        $"RMSNorm({Dim}{(Eps != MachineEpsilon ? $", eps={Eps.ToString(CultureInfo.InvariantCulture)}" : "")}{(Weight is null ? ", affine=false" : "")})";
}
