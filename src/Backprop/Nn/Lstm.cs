namespace Backprop.Nn;

/// <summary>
/// Long short-term memory (PyTorch's <c>nn.LSTM</c>, batch_first): per step, with gate blocks in PyTorch's order
/// i, f, g, o of <c>W_ih x + b_ih + W_hh h + b_hh</c>: i, f, o = σ(·), g = tanh(·), c' = f·c + i·g, h' = o·tanh(c').
/// See <see cref="Recurrent"/> for the parameters and shapes; <see cref="Recurrent.ForwardWithState"/> also
/// returns c_n.
/// </summary>
/// <param name="inputSize">Features per input step.</param>
/// <param name="hiddenSize">Hidden (and cell) state size.</param>
/// <param name="numLayers">Stacked layers.</param>
/// <param name="bias">Whether to learn b_ih and b_hh.</param>
/// <param name="bidirectional">Whether each layer also runs backwards.</param>
/// <param name="dropout">Dropout on each layer's output but the last's, when training.</param>
/// <param name="rng">Generator for the initial weights; default <see cref="Init.DefaultRng"/>.</param>
public sealed class Lstm(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool bidirectional = false,
    float dropout = 0f, Rng? rng = null)
    : Recurrent(Kernels.RecurrentCell.Lstm, inputSize, hiddenSize, numLayers, bias, bidirectional, dropout, rng)
{
    private protected override string Kind => "LSTM";
}
