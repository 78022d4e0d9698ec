namespace Backprop.Explain;

/// <summary>
/// One dense layer of a model to explain with <see cref="StepTrace.ForModel(Tensor, Tensor, IReadOnlyList{TraceLayer})"/>:
/// <c>A_out = activation(A_prev · Weight + Bias)</c>.
/// </summary>
/// <param name="Weight">[inputs, outputs]: rows match the previous layer's columns (the seeds' <c>X·W1</c> layout).</param>
/// <param name="Bias">Optional [outputs] (or [1, outputs]) added to every row; null for no bias, as in the seeds.</param>
/// <param name="Activation">
/// <c>sigmoid</c> (the seeds'), <c>tanh</c>, <c>relu</c>, <c>leaky_relu</c> (or <c>leaky_relu:0.2</c>), <c>softmax</c> or
/// <c>identity</c>.
/// </param>
public sealed record TraceLayer(Tensor Weight, Tensor? Bias = null, string Activation = "sigmoid");
