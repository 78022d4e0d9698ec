using System.Globalization;
using System.Text.Json.Nodes;
using Backprop.Kernels;

namespace Backprop.Nn;

/// <summary>
/// What <see cref="Recurrent.ForwardWithState"/> returns: every step's output of the last layer and the final states.
/// </summary>
/// <param name="Output">[B, T, hidden·directions]: the last layer's hidden state at every position.</param>
/// <param name="Hidden">[layers·directions, B, hidden]: each layer and direction's final hidden state (PyTorch's h_n).</param>
/// <param name="Cell">[layers·directions, B, hidden]: the LSTM's final cell states (c_n); null for RNN and GRU.</param>
public sealed record RecurrentOutput(Tensor Output, Tensor Hidden, Tensor? Cell);

/// <summary>
/// The shared part of <see cref="Rnn"/>, <see cref="Lstm"/> and <see cref="Gru"/>: several stacked layers over a
/// batch-first input [B, T, input], optionally bidirectional, with PyTorch's parameter names and layouts
/// (<c>weight_ih_l0</c> [gates·hidden, input], <c>weight_hh_l0</c> [gates·hidden, hidden], <c>bias_ih_l0</c>,
/// <c>bias_hh_l0</c>, and <c>_reverse</c> for the backward direction), so a PyTorch state dict loads by name.
/// </summary>
/// <remarks>
/// Every layer and direction runs as one fused op (<see cref="Tensor.RecurrentLayer"/>): the input projection of all
/// steps is one matrix product, each step one product with W_hh plus the gate math, and backpropagation through time
/// runs inside the op's backward. A layer's input is the previous layer's output, both directions side by side.
/// All weights and biases start U(−1/√hidden, 1/√hidden), as in PyTorch.
/// </remarks>
public abstract class Recurrent : Module
{
    private readonly Tensor[] weights;
    [Constant] private readonly string[] names;
    private readonly RecurrentCell cell;

    private protected Recurrent(RecurrentCell cell, int inputSize, int hiddenSize, int numLayers, bool bias, bool bidirectional,
        float dropout, Rng? rng)
    {
        if (inputSize <= 0 || hiddenSize <= 0 || numLayers <= 0)
            throw new ArgumentOutOfRangeException(nameof(inputSize), $"{Kind}: input size {inputSize}, hidden size {hiddenSize} and layers {numLayers} must be positive.");
        if (!(dropout >= 0f && dropout < 1f))
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, $"{Kind}: dropout must be in [0, 1) but got {dropout.ToString(CultureInfo.InvariantCulture)}.");
        this.cell = cell;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        NumLayers = numLayers;
        Bidirectional = bidirectional;
        HasBias = bias;
        DropoutP = dropout;
        rng ??= Init.DefaultRng;
        Generator = new Rng(((long)rng.NextUInt() << 32) | rng.NextUInt());
        int gh = RecurrentKernels.Gates(cell) * hiddenSize;
        float bound = 1f / MathF.Sqrt(hiddenSize);
        var w = new List<Tensor>();
        var n = new List<string>();
        for (int l = 0; l < numLayers; l++)
            for (int d = 0; d < Directions; d++)
            {
                string suffix = $"_l{l}{(d == 1 ? "_reverse" : "")}";
                int inF = l == 0 ? inputSize : hiddenSize * Directions;
                Add($"weight_ih{suffix}", [gh, inF]);
                Add($"weight_hh{suffix}", [gh, hiddenSize]);
                if (bias)
                {
                    Add($"bias_ih{suffix}", [gh]);
                    Add($"bias_hh{suffix}", [gh]);
                }
            }
        weights = [.. w];
        names = [.. n];

        void Add(string name, int[] shape)
        {
            w.Add(Tensor.RandomUniform(shape, rng, -bound, bound).RequireGrad());
            n.Add(name);
        }
    }

    /// <summary>The layer's name in messages and specs: RNN, LSTM or GRU.</summary>
    private protected abstract string Kind { get; }

    /// <summary>Features per input step.</summary>
    public int InputSize { get; }

    /// <summary>Hidden state size per direction.</summary>
    public int HiddenSize { get; }

    /// <summary>Number of stacked layers.</summary>
    public int NumLayers { get; }

    /// <summary>Whether each layer also runs from the last step to the first.</summary>
    public bool Bidirectional { get; }

    /// <summary>Whether the layers have the biases b_ih and b_hh.</summary>
    public bool HasBias { get; }

    /// <summary>Dropout applied to each layer's output except the last's, when training (PyTorch's <c>dropout</c>).</summary>
    public float DropoutP { get; }

    /// <summary>1, or 2 when bidirectional.</summary>
    public int Directions => Bidirectional ? 2 : 1;

    /// <summary>The generator of the dropout masks between layers.</summary>
    public Rng Generator { get; }

    /// <summary>The output sequence of the last layer, [B, T, hidden·directions], for input [B, T, input].</summary>
    public override Tensor Forward(Tensor input)
    {
        Check(input, null, null);
        return Layers(input, null, null, null, null);   // no state lists, no record: a training step allocates nothing here
    }

    /// <summary>
    /// The output sequence and the final states, starting from <paramref name="h0"/> (and, for an LSTM,
    /// <paramref name="c0"/>), each [layers·directions, B, hidden], zeros when null, as PyTorch's
    /// <c>output, h_n = rnn(x, h0)</c>.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The input or an initial state has the wrong shape.</exception>
    public RecurrentOutput ForwardWithState(Tensor input, Tensor? h0 = null, Tensor? c0 = null) => Run(input, h0, c0, withState: true);

    private RecurrentOutput Run(Tensor input, Tensor? h0, Tensor? c0, bool withState)
    {
        Check(input, h0, c0);
        if (!withState) return new RecurrentOutput(Layers(input, h0, c0, null, null), null!, null);
        bool lstm = cell == RecurrentCell.Lstm;
        var hLast = new List<Tensor>();
        var cLast = lstm ? new List<Tensor>() : null;
        var x = Layers(input, h0, c0, hLast, cLast);
        return new RecurrentOutput(x, Tensor.Stack(hLast, 0), cLast is null ? null : Tensor.Stack(cLast, 0));
    }

    private void Check(Tensor input, Tensor? h0, Tensor? c0)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 3 || input.Shape[2] != InputSize || input.Shape[1] == 0)
            throw new ShapeMismatchException($"{this} expected input [batch, seq, {InputSize}] (batch first, seq ≥ 1) but got {Shapes.Format([.. input.Shape])}.");
        CheckState(h0, "h0", input.Shape[0]);
        CheckState(c0, "c0", input.Shape[0]);
        if (c0 is not null && cell != RecurrentCell.Lstm)
            throw new ArgumentException($"{this} has no cell state; pass c0 only to an LSTM.");
    }

    private void CheckState(Tensor? state, string name, int batch)
    {
        if (state is null) return;
        int[] stateShape = [NumLayers * Directions, batch, HiddenSize];
        if (!state.Shape.SequenceEqual(stateShape))
            throw new ShapeMismatchException($"{this} expected {name} {Shapes.Format(stateShape)} but got {Shapes.Format([.. state.Shape])}.");
    }

    // Every layer and direction over x [B, T, I]; each direction's last hidden (and, for an LSTM, cell) state is added
    // to hLast (cLast) when they are given.
    private Tensor Layers(Tensor input, Tensor? h0, Tensor? c0, List<Tensor>? hLast, List<Tensor>? cLast)
    {
        int t = input.Shape[1];
        bool cells = cLast is not null;
        int per = HasBias ? 4 : 2;
        var x = input;
        for (int l = 0; l < NumLayers; l++)
        {
            Tensor? forward = null, backward = null;
            for (int d = 0; d < Directions; d++)
            {
                int k = l * Directions + d, at = k * per;
                var hInit = h0?.Select(0, k);   // null: zeros
                var cInit = c0?.Select(0, k);
                var y = Tensor.RecurrentLayer(cell, x, weights[at], weights[at + 1], HasBias ? weights[at + 2] : null,
                    HasBias ? weights[at + 3] : null, hInit, cInit, reverse: d == 1, withCells: cells);
                int last = d == 0 ? t - 1 : 0;   // the backward direction ends at position 0
                if (cells)
                {
                    cLast!.Add(y.Narrow(2, HiddenSize, HiddenSize).Select(1, last));
                    y = y.Narrow(2, 0, HiddenSize);
                }
                hLast?.Add(y.Select(1, last));
                if (d == 0) forward = y;
                else backward = y;
            }
            x = Directions == 1 ? forward! : Tensor.Concat([forward!, backward!], 2);
            if (DropoutP > 0f && IsTraining && l < NumLayers - 1) x = x.Dropout(DropoutP, Generator);
        }
        return x;
    }

    /// <summary>Layer <paramref name="layer"/>'s weights in one direction (PyTorch's layout), for inference paths of their own.</summary>
    internal (Tensor WeightIh, Tensor WeightHh, Tensor? BiasIh, Tensor? BiasHh) LayerWeights(int layer, int direction = 0)
    {
        int at = (layer * Directions + direction) * (HasBias ? 4 : 2);
        return (weights[at], weights[at + 1], HasBias ? weights[at + 2] : null, HasBias ? weights[at + 3] : null);
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Tensor Parameter)> OwnParameters() => names.Zip(weights);

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Rng Generator)> OwnGenerators()
    {
        yield return ("generator", Generator);
    }

    /// <summary>The spec: type, sizes and options (read back by <see cref="ModuleSpec.Create"/>).</summary>
    public override JsonObject ToSpec() => new()
    {
        ["type"] = Kind, ["input"] = InputSize, ["hidden"] = HiddenSize, ["layers"] = NumLayers, ["bias"] = HasBias,
        ["bidirectional"] = Bidirectional, ["dropout"] = DropoutP,
    };

    /// <summary><c>LSTM(8→16, layers=2, bidirectional)</c>, options shown where they differ from the defaults.</summary>
    public override string ToString()
    {
        var s = $"{Kind}({InputSize}→{HiddenSize}";
        if (NumLayers != 1) s += $", layers={NumLayers}";
        if (Bidirectional) s += ", bidirectional";
        if (!HasBias) s += ", bias=false";
        if (DropoutP != 0f) s += $", dropout={DropoutP.ToString(CultureInfo.InvariantCulture)}";
        return s + ")";
    }
}
