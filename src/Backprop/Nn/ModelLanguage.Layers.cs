using System.Globalization;

namespace Backprop.Nn;

/// <summary>What a layer needs its per-example input to look like.</summary>
public enum LayerInput
{
    /// <summary>Any shape (activations, reshape, ...).</summary>
    Any,
    /// <summary>A flat row of F features: the batch is [N, F] (dense).</summary>
    Flat,
    /// <summary>An image of C channels, H×W: the batch is [N, C, H, W] (conv, pooling).</summary>
    Image,
}

/// <summary>The kind of value an argument takes; checked before a layer's factory runs.</summary>
public enum ArgKind
{
    /// <summary>A whole number ≥ 1 (sizes, kernel sizes, strides).</summary>
    Count,
    /// <summary>A whole number ≥ 0 (padding).</summary>
    NonNegative,
    /// <summary>Any finite number (a slope).</summary>
    Number,
    /// <summary>A number in [0, 1) (a dropout probability).</summary>
    Fraction,
    /// <summary><c>true</c> or <c>false</c>.</summary>
    Flag,
}

/// <summary>One argument of a layer: its name, kind, and whether it may be (or must be) given.</summary>
/// <param name="Name">The name used in <c>name=value</c> and in error messages.</param>
/// <param name="Kind">The values it accepts.</param>
/// <param name="Required">Whether the layer cannot be built without it.</param>
/// <param name="Positional">Whether it may be given by position (false: only as <c>name=value</c>).</param>
/// <param name="Repeated">Whether it takes every remaining positional value (<c>reshape(1,28,28)</c>).</param>
public sealed record LayerParam(string Name, ArgKind Kind, bool Required = false, bool Positional = true, bool Repeated = false);

/// <summary>
/// One entry of the model language's layer table: a token name, its arguments, the input it needs, and how to build,
/// describe and cost the module. Adding a layer to the language is adding one of these to <see cref="ModelLanguage.Layers"/>.
/// </summary>
/// <param name="Name">The token, lower case (<c>dense</c>).</param>
/// <param name="Usage">How to write it, shown in errors (<c>dense(n[,bias=false])</c>).</param>
/// <param name="Input">The per-example input it needs; checked before <paramref name="Create"/> runs.</param>
/// <param name="Params">Its arguments; positional values fill the positional ones in order.</param>
/// <param name="Create">Builds the module from the checked arguments, the per-example input shape (without the batch
/// axis: [F] or [C, H, W]) and the generator for initial weights (null: the library default).</param>
/// <param name="Describe">The token text for a module of this kind (e.g. <c>dense(128)</c>), or null when the module
/// is of another kind.</param>
/// <param name="Flops">Floating-point operations per example of the module's forward pass, given its per-example
/// input and output shapes (null: not counted, as for elementwise layers).</param>
public sealed record LayerKind(string Name, string Usage, LayerInput Input, IReadOnlyList<LayerParam> Params,
    Func<LayerArgs, IReadOnlyList<int>, Rng?, Module> Create, Func<Module, string?> Describe,
    Func<Module, IReadOnlyList<int>, IReadOnlyList<int>, long>? Flops = null);

public static partial class ModelLanguage
{
    /// <summary>Every layer the language knows, in the order error messages list them.</summary>
    public static IReadOnlyList<LayerKind> Layers { get; } =
    [
        new("dense", "dense(n[,bias=false])", LayerInput.Flat,
            [new("n", ArgKind.Count, Required: true), new("bias", ArgKind.Flag, Positional: false)],
            (a, input, rng) => new Dense(input[0], a.Int("n"), a.Bool("bias", true), rng: rng),
            m => m is Dense d ? $"dense({d.OutFeatures}{(d.Bias is null ? ",bias=false" : "")})" : null,
            // Y = X·W + b: one multiply and one add per weight, one add per bias.
            (m, _, _) => m is Dense d ? 2L * d.InFeatures * d.OutFeatures + (d.Bias is null ? 0 : d.OutFeatures) : 0),
        Simple<Relu>("relu"),
        Simple<Tanh>("tanh"),
        Simple<Sigmoid>("sigmoid"),
        new("leaky_relu", "leaky_relu[(slope)]", LayerInput.Any, [new("slope", ArgKind.Number)],
            (a, _, _) => new LeakyRelu(a.Float("slope", 0.01f)),
            m => m is LeakyRelu l ? l.Slope == 0.01f ? "leaky_relu" : $"leaky_relu({Num(l.Slope)})" : null),
        Simple<Softmax>("softmax"),
        Simple<LogSoftmax>("log_softmax"),
        Simple<Identity>("identity"),
        new("reshape", "reshape(d1[,d2,...])", LayerInput.Any, [new("shape", ArgKind.Count, Required: true, Repeated: true)],
            (a, _, _) => new Reshape(a.Ints("shape")),
            m => m is Reshape r ? $"reshape({string.Join(",", r.SampleShape.Select(d => d.ToString(CultureInfo.InvariantCulture)))})" : null),
        new("conv", "conv(out,k[,stride=s][,pad=p][,bias=false])", LayerInput.Image,
            [new("out", ArgKind.Count, Required: true), new("k", ArgKind.Count, Required: true),
             new("stride", ArgKind.Count, Positional: false), new("pad", ArgKind.NonNegative, Positional: false),
             new("bias", ArgKind.Flag, Positional: false)],
            (a, s, rng) => new Conv2d(s[0], a.Int("out"), a.Int("k"), a.Int("stride", 1), a.Int("pad", 0), a.Bool("bias", true), rng: rng),
            m => m is Conv2d c
                ? $"conv({c.OutChannels},{c.KernelSize}{(c.Stride != 1 ? $",stride={c.Stride}" : "")}{(c.Padding != 0 ? $",pad={c.Padding}" : "")}{(c.Bias is null ? ",bias=false" : "")})"
                : null,
            // One multiply-add per weight per output pixel: 2·C·k²·OC·OH·OW.
            (m, i, o) => m is Conv2d c ? 2L * i[0] * c.KernelSize * c.KernelSize * o[0] * o[1] * o[2] : 0),
        Pool("maxpool", (k, stride) => new MaxPool2d(k, stride), m => m is MaxPool2d p ? (p.KernelSize, p.Stride) : null),
        Pool("avgpool", (k, stride) => new AvgPool2d(k, stride), m => m is AvgPool2d p ? (p.KernelSize, p.Stride) : null),
        Simple<Flatten>("flatten"),
        new("dropout", "dropout(p)", LayerInput.Any, [new("p", ArgKind.Fraction)],
            // The masks get a generator of their own, seeded from the model's, so they do not shift weight init.
            (a, _, rng) => new Dropout(a.Float("p", 0.5f), rng is null ? null : new Rng(((long)rng.NextUInt() << 32) | rng.NextUInt())),
            m => m is Dropout d ? $"dropout({Num(d.P)})" : null),
        new("batchnorm", "batchnorm", LayerInput.Any, [],
            (_, s, _) => s.Count switch
            {
                1 => new BatchNorm1d(s[0]),
                3 => new BatchNorm2d(s[0]),
                _ => throw new ArgumentException($"batchnorm needs [N, F] or [N, C, H, W] but gets {FormatShape(s)}"),
            },
            m => m is BatchNorm1d or BatchNorm2d ? "batchnorm" : null),
        .. SequenceKinds(),
    ];

    /// <summary>A pooling layer: <c>name(k[,stride=s])</c>, the stride defaulting to the window size k.</summary>
    private static LayerKind Pool(string name, Func<int, int?, Module> create, Func<Module, (int Kernel, int Stride)?> read) =>
        new(name, $"{name}(k[,stride=s])", LayerInput.Image,
            [new("k", ArgKind.Count, Required: true), new("stride", ArgKind.Count, Positional: false)],
            (a, _, _) => create(a.Int("k"), a.Has("stride") ? a.Int("stride") : null),
            m => read(m) is var (k, stride) ? $"{name}({k}{(stride != k ? $",stride={stride}" : "")})" : null);

    /// <summary>A layer without arguments that accepts any shape, e.g. an activation.</summary>
    private static LayerKind Simple<T>(string name) where T : Module, new() =>
        new(name, name, LayerInput.Any, [], (_, _, _) => new T(), m => m is T ? name : null);

    private static string Num(float v) => v.ToString("R", CultureInfo.InvariantCulture);
}
