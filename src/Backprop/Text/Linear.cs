using System.Text.Json.Nodes;
using Backprop.Nn;

namespace Backprop.Text;

/// <summary>
/// y = x·Wᵀ + b over the last axis of any input [*, in] → [*, out] (PyTorch's <c>nn.Linear</c>: <c>weight</c>
/// [out, in], <c>bias</c> [out], both U(±1/√in)), what a transformer applies at every position; <see cref="Dense"/>
/// takes only [N, F]. Part of the language models, which record it in their own spec.
/// </summary>
public sealed class Linear : Module
{
    /// <summary>Creates the layer.</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Rng? rng = null)
    {
        if (inFeatures < 1 || outFeatures < 1)
            throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Linear({inFeatures}→{outFeatures}): sizes must be positive.");
        rng ??= Init.DefaultRng;
        Weight = Init.Parameter([outFeatures, inFeatures], inFeatures, outFeatures, rng);
        if (bias) Bias = Init.Parameter([outFeatures], inFeatures, outFeatures, rng);
    }

    /// <summary>W [out, in].</summary>
    public Tensor Weight { get; }

    /// <summary>b [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Tensor.Linear(input, Weight, Bias);

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Tensor Parameter)> OwnParameters()
    {
        yield return ("weight", Weight);
        if (Bias is not null) yield return ("bias", Bias);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new() { ["type"] = "Linear", ["in"] = Weight.Shape[1], ["out"] = Weight.Shape[0], ["bias"] = Bias is not null };

    /// <inheritdoc/>
    public override string ToString() => $"Linear({Weight.Shape[1]}→{Weight.Shape[0]}{(Bias is null ? ", bias=false" : "")})";
}
