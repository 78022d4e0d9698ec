namespace Backprop.Nn;

/// <summary>
/// Gated recurrent unit (PyTorch's <c>nn.GRU</c>, batch_first): gate blocks r, z, n in PyTorch's order,
/// r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
/// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h. See <see cref="Recurrent"/>.
/// </summary>
/// <param name="inputSize">Features per input step.</param>
/// <param name="hiddenSize">Hidden state size.</param>
/// <param name="numLayers">Stacked layers.</param>
/// <param name="bias">Whether to learn b_ih and b_hh.</param>
/// <param name="bidirectional">Whether each layer also runs backwards.</param>
/// <param name="dropout">Dropout on each layer's output but the last's, when training.</param>
/// <param name="rng">Generator for the initial weights; default <see cref="Init.DefaultRng"/>.</param>
public sealed class Gru(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool bidirectional = false,
    float dropout = 0f, Rng? rng = null)
    : Recurrent(Kernels.RecurrentCell.Gru, inputSize, hiddenSize, numLayers, bias, bidirectional, dropout, rng)
{
    private protected override string Kind => "GRU";
}
