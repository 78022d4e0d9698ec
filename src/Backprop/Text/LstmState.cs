using Backprop.Kernels;

namespace Backprop.Text;

/// <summary>
/// An <see cref="LstmLanguageModel"/>'s (h, c) per layer for generating one sequence: each token is one LSTM step per
/// layer and the head, on an inference path of its own.
/// </summary>
/// <remarks>
/// Per layer, the two pre-activations are GEMVs with the weights transposed once when the state is made
/// (<see cref="RowLinear"/>): xp = W_ih·x + b_ih and hp = W_hh·h + b_hh, then the cell's kernel (the training op's,
/// <see cref="RecurrentKernels.Step(RecurrentCell, Span{float}, Span{float}, Span{float}, Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int)"/>)
/// gives the new h and c. No graph is recorded and every buffer is made here, so a token in steady state allocates
/// nothing (the op itself would transpose W_hh, 1 MB for a hidden size of 256, at every token). The logits equal the
/// full forward's to float rounding; the state uses the weights as they are when it is made.
/// </remarks>
internal sealed class LstmState : LanguageModelState
{
    private readonly LstmLanguageModel model;
    private readonly RowLinear[] inputSide, hiddenSide;   // per layer: W_ih, b_ih and W_hh, b_hh
    private readonly RowLinear head;
    private readonly float[][] h, c, hNext, cNext;        // per layer [H]
    private readonly float[] xp, hp, acts;                // [4H]
    private readonly float[] logits;                      // [V]

    public LstmState(LstmLanguageModel model)
    {
        this.model = model;
        var rnn = model.Rnn;
        int layers = rnn.NumLayers, hidden = rnn.HiddenSize;
        inputSide = new RowLinear[layers];
        hiddenSide = new RowLinear[layers];
        for (int l = 0; l < layers; l++)
        {
            var (wIh, wHh, bIh, bHh) = rnn.LayerWeights(l);
            inputSide[l] = new RowLinear(wIh, bIh);
            hiddenSide[l] = new RowLinear(wHh, bHh);
        }
        head = new RowLinear(model.Head.Weight, model.Head.Bias);
        h = NewRows(layers, hidden);
        c = NewRows(layers, hidden);
        hNext = NewRows(layers, hidden);
        cNext = NewRows(layers, hidden);
        xp = new float[4 * hidden];
        hp = new float[4 * hidden];
        acts = new float[4 * hidden];
        logits = new float[model.VocabSize];
    }

    public override ReadOnlySpan<float> Next(int token)
    {
        if ((uint)token >= (uint)model.VocabSize)
            throw new ArgumentOutOfRangeException(nameof(token), token, $"token {token} is outside the vocabulary [0, {model.VocabSize}).");
        int e = model.Wte.Dim, hidden = model.Rnn.HiddenSize;
        ReadOnlySpan<float> x = model.Wte.Weight.AsSpan().Slice(token * e, e);
        for (int l = 0; l < h.Length; l++)
        {
            inputSide[l].Apply(xp, x);
            hiddenSide[l].Apply(hp, h[l]);
            RecurrentKernels.Step(RecurrentCell.Lstm, hNext[l], cNext[l], acts, default, xp, hp, h[l], c[l], hidden);
            (h[l], hNext[l]) = (hNext[l], h[l]);
            (c[l], cNext[l]) = (cNext[l], c[l]);
            x = h[l];
        }
        head.Apply(logits, x);
        Length++;
        return logits;
    }

    private static float[][] NewRows(int rows, int length) => [.. Enumerable.Range(0, rows).Select(_ => new float[length])];
}
