using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// The Elman recurrent network (PyTorch's <c>nn.RNN</c>, batch_first): h' = tanh(W_ih x + b_ih + W_hh h + b_hh),
/// or ReLU instead of tanh. See <see cref="Recurrent"/>.
/// </summary>
/// <param name="inputSize">Features per input step.</param>
/// <param name="hiddenSize">Hidden state size.</param>
/// <param name="numLayers">Stacked layers.</param>
/// <param name="nonlinearity"><c>tanh</c> (default) or <c>relu</c>.</param>
/// <param name="bias">Whether to learn b_ih and b_hh.</param>
/// <param name="bidirectional">Whether each layer also runs backwards.</param>
/// <param name="dropout">Dropout on each layer's output but the last's, when training.</param>
/// <param name="rng">Generator for the initial weights; default <see cref="Init.DefaultRng"/>.</param>
public sealed class Rnn(int inputSize, int hiddenSize, int numLayers = 1, string nonlinearity = "tanh", bool bias = true,
    bool bidirectional = false, float dropout = 0f, Rng? rng = null)
    : Recurrent(CellOf(nonlinearity), inputSize, hiddenSize, numLayers, bias, bidirectional, dropout, rng)
{
    /// <summary><c>tanh</c> or <c>relu</c>.</summary>
    public string Nonlinearity { get; } = CellOf(nonlinearity) == Kernels.RecurrentCell.RnnRelu ? "relu" : "tanh";

    private protected override string Kind => "RNN";

    /// <inheritdoc/>
    public override JsonObject ToSpec()
    {
        var spec = base.ToSpec();
        spec["nonlinearity"] = Nonlinearity;
        return spec;
    }

    /// <inheritdoc/>
    public override string ToString() => Nonlinearity == "tanh" ? base.ToString() : base.ToString()[..^1] + ", relu)";

    private static Kernels.RecurrentCell CellOf(string nonlinearity) => nonlinearity switch
    {
        "tanh" => Kernels.RecurrentCell.RnnTanh,
        "relu" => Kernels.RecurrentCell.RnnRelu,
        _ => throw new ArgumentException($"RNN nonlinearity must be 'tanh' or 'relu' but got '{nonlinearity}'."),
    };
}
