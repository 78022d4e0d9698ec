namespace Backprop.Nn;

public static partial class ModelLanguage
{
    /// <summary>
    /// The sequence and normalisation tokens: <c>embedding(n,dim)</c> on token ids [N, T], <c>layernorm</c>,
    /// <c>rmsnorm</c>, <c>rnn</c>/<c>lstm</c>/<c>gru(hidden[,layers=n][,bidirectional][,dropout=p])</c> and
    /// <c>attention(heads[,causal][,dropout=p])</c> on sequences [N, T, F], <c>conv1d(out,k[,stride=s][,pad=p])</c> on [N, C, L],
    /// <c>convtranspose(out,k[,stride=s][,pad=p][,outpad=q])</c> and <c>upsample(scale[,bilinear])</c> on images, the smooth activations <c>gelu</c>,
    /// <c>gelu_tanh</c>, <c>silu</c>, and <c>globalavgpool</c> on images. A method, not a field, so that
    /// <see cref="Layers"/> can include it whatever order the partial files' static initialisers run in.
    /// </summary>
    private static LayerKind[] SequenceKinds() =>
    [
        new("embedding", "embedding(n,dim)", LayerInput.Flat,
            [new("n", ArgKind.Count, Required: true), new("dim", ArgKind.Count, Required: true)],
            (a, _, rng) => new Embedding(a.Int("n"), a.Int("dim"), rng),
            m => m is Embedding e ? $"embedding({e.NumEmbeddings},{e.Dim})" : null),
        new("layernorm", "layernorm", LayerInput.Any, [], (_, s, _) => new LayerNorm(s[^1]),
            m => m is LayerNorm { NormalizedShape.Count: 1, Eps: 1e-5f, Weight: not null } ? "layernorm" : null),
        new("rmsnorm", "rmsnorm", LayerInput.Any, [], (_, s, _) => new RmsNorm(s[^1]),
            m => m is RmsNorm { Eps: RmsNorm.MachineEpsilon, Weight: not null } ? "rmsnorm" : null),
        Recurrent("rnn", (f, h, l, bi, p, rng) => new Rnn(f, h, l, bidirectional: bi, dropout: p, rng: rng), m => m is Rnn { Nonlinearity: "tanh" }),
        Recurrent("lstm", (f, h, l, bi, p, rng) => new Lstm(f, h, l, bidirectional: bi, dropout: p, rng: rng), m => m is Lstm),
        Recurrent("gru", (f, h, l, bi, p, rng) => new Gru(f, h, l, bidirectional: bi, dropout: p, rng: rng), m => m is Gru),
        new("attention", "attention(heads[,causal][,dropout=p])", LayerInput.Any,
            [new("heads", ArgKind.Count, Required: true), new("causal", ArgKind.Flag, Positional: false), new("dropout", ArgKind.Fraction, Positional: false)],
            (a, s, rng) => new MultiHeadAttention(Sequence(s, "attention")[1], a.Int("heads"), a.Bool("causal", false), a.Float("dropout", 0f), rng: rng),
            m => m is MultiHeadAttention { InProjBias: not null } t
                ? $"attention({t.Heads}{(t.Causal ? ",causal" : "")}{(t.DropoutP != 0f ? $",dropout={Num(t.DropoutP)}" : "")})" : null,
            // q|k|v and output projections 2·T·D·4D, scores Q·Kᵀ and P·V 2·T·T·D each.
            (m, i, _) => m is MultiHeadAttention ? 8L * i[0] * i[1] * i[1] + 4L * i[0] * i[0] * i[1] : 0),
        new("gelu", "gelu", LayerInput.Any, [], (_, _, _) => new Gelu(), m => m is Gelu { ApproximateTanh: false } ? "gelu" : null),
        new("gelu_tanh", "gelu_tanh", LayerInput.Any, [], (_, _, _) => new Gelu(approximateTanh: true), m => m is Gelu { ApproximateTanh: true } ? "gelu_tanh" : null),
        Simple<Silu>("silu"),
        new("conv1d", "conv1d(out,k[,stride=s][,pad=p][,bias=false])", LayerInput.Any,
            [new("out", ArgKind.Count, Required: true), new("k", ArgKind.Count, Required: true),
             new("stride", ArgKind.Count, Positional: false), new("pad", ArgKind.NonNegative, Positional: false),
             new("bias", ArgKind.Flag, Positional: false)],
            (a, s, rng) => new Conv1d(Channels(s), a.Int("out"), a.Int("k"), a.Int("stride", 1), a.Int("pad", 0), a.Bool("bias", true), rng),
            m => m is Conv1d c
                ? $"conv1d({c.OutChannels},{c.KernelSize}{(c.Stride != 1 ? $",stride={c.Stride}" : "")}{(c.Padding != 0 ? $",pad={c.Padding}" : "")}{(c.Bias is null ? ",bias=false" : "")})"
                : null,
            // One multiply-add per weight per output position: 2·C·k·OC·OL.
            (m, i, o) => m is Conv1d c ? 2L * i[0] * c.KernelSize * o[0] * o[1] : 0),
        new("convtranspose", "convtranspose(out,k[,stride=s][,pad=p][,outpad=q][,bias=false])", LayerInput.Image,
            [new("out", ArgKind.Count, Required: true), new("k", ArgKind.Count, Required: true),
             new("stride", ArgKind.Count, Positional: false), new("pad", ArgKind.NonNegative, Positional: false),
             new("outpad", ArgKind.NonNegative, Positional: false), new("bias", ArgKind.Flag, Positional: false)],
            (a, s, rng) => new ConvTranspose2d(s[0], a.Int("out"), a.Int("k"), a.Int("stride", 1), a.Int("pad", 0), a.Int("outpad", 0), a.Bool("bias", true), rng),
            m => m is ConvTranspose2d c
                ? $"convtranspose({c.OutChannels},{c.KernelSize}{(c.Stride != 1 ? $",stride={c.Stride}" : "")}{(c.Padding != 0 ? $",pad={c.Padding}" : "")}" +
                  $"{(c.OutputPadding != 0 ? $",outpad={c.OutputPadding}" : "")}{(c.Bias is null ? ",bias=false" : "")})"
                : null,
            // One multiply-add per weight per input pixel: 2·C·OC·k²·H·W.
            (m, i, _) => m is ConvTranspose2d c ? 2L * i[0] * c.OutChannels * c.KernelSize * c.KernelSize * i[1] * i[2] : 0),
        new("upsample", "upsample(scale[,bilinear])", LayerInput.Image,
            [new("scale", ArgKind.Count, Required: true), new("bilinear", ArgKind.Flag, Positional: false)],
            (a, _, _) => new Upsample(a.Int("scale"), a.Bool("bilinear", false) ? UpsampleMode.Bilinear : UpsampleMode.Nearest),
            m => m is Upsample u ? $"upsample({u.Scale}{(u.Mode == UpsampleMode.Bilinear ? ",bilinear" : "")})" : null),
        new("globalavgpool", "globalavgpool", LayerInput.Image, [], (_, _, _) => new GlobalAvgPool(), m => m is GlobalAvgPool ? "globalavgpool" : null),
    ];

    /// <summary>A recurrent token: <c>name(hidden[,layers=n][,bidirectional][,dropout=p])</c> on sequences [N, T, F].</summary>
    private static LayerKind Recurrent(string name, Func<int, int, int, bool, float, Rng?, Recurrent> create, Func<Module, bool> isKind) =>
        new(name, $"{name}(hidden[,layers=n][,bidirectional][,dropout=p])", LayerInput.Any,
            [new("hidden", ArgKind.Count, Required: true), new("layers", ArgKind.Count, Positional: false),
             new("bidirectional", ArgKind.Flag, Positional: false), new("dropout", ArgKind.Fraction, Positional: false)],
            (a, s, rng) => create(Sequence(s, name)[1], a.Int("hidden"), a.Int("layers", 1), a.Bool("bidirectional", false), a.Float("dropout", 0f), rng),
            m => isKind(m) && m is Recurrent { HasBias: true } r
                ? $"{name}({r.HiddenSize}{(r.NumLayers != 1 ? $",layers={r.NumLayers}" : "")}{(r.Bidirectional ? ",bidirectional" : "")}{(r.DropoutP != 0f ? $",dropout={Num(r.DropoutP)}" : "")})"
                : null,
            // Per layer and direction, every step multiplies [G·H, in] and [G·H, H] by a vector: 2·T·G·H·(in + H).
            (m, i, _) => m is Recurrent r ? RecurrentFlops(r, i[0]) : 0);

    private static long RecurrentFlops(Recurrent r, int steps)
    {
        int gates = r switch { Lstm => 4, Gru => 3, _ => 1 };
        long total = 0;
        for (int l = 0; l < r.NumLayers; l++)
            total += r.Directions * 2L * steps * gates * r.HiddenSize * ((l == 0 ? r.InputSize : r.HiddenSize * r.Directions) + r.HiddenSize);
        return total;
    }

    /// <summary>C of a 1-D convolution's per-example input [C, L], or an error naming what arrived.</summary>
    private static int Channels(IReadOnlyList<int> shape) => shape.Count == 2 ? shape[0]
        : throw new ArgumentException($"conv1d needs an input [N, C, L] but gets {FormatShape(shape)}; put reshape(C,L) before it");

    /// <summary>The per-example shape [T, F] of a sequence layer's input, or an error naming the layer and what it got.</summary>
    private static IReadOnlyList<int> Sequence(IReadOnlyList<int> shape, string name) => shape.Count == 2 ? shape
        : throw new ArgumentException($"{name} needs a sequence input [N, T, F] but gets {FormatShape(shape)}; put embedding(n,dim) or reshape(T,F) before it");
}
