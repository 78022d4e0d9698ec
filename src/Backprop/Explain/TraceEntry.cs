namespace Backprop.Explain;

/// <summary>One named matrix of a <see cref="StepTrace"/>, e.g. <c>H_delta</c>.</summary>
/// <param name="Name">The seeds' name: <c>X, W1, H_in, H_out, O_delta, W2_update, ...</c>.</param>
/// <param name="Value">The matrix (a tensor of the engine; do not change it).</param>
/// <param name="Formula">The seeds' closed form, e.g. <c>H_error ⊙ H_out ⊙ (1 − H_out)</c>; empty for given data.</param>
/// <param name="Autograd">
/// Where the engine's value came from, e.g. <c>N·∂E/∂H_in</c> for a delta, <c>forward</c> for a forward value, or
/// <c>given</c> for inputs and weights.
/// </param>
public sealed record TraceEntry(string Name, Tensor Value, string Formula, string Autograd);
