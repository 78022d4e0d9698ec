using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// A transposed 2-D convolution with square kernels (PyTorch's <c>nn.ConvTranspose2d</c>), the decoder's way up:
/// [N, C, H, W] → [N, OC, OH, OW], OH = (H − 1)·stride − 2·pad + k + outputPad. See <see cref="Tensor.ConvTranspose2d(Tensor, Tensor?, int, int, int)"/>.
/// </summary>
/// <remarks>
/// Parameters follow PyTorch: <see cref="Weight"/> [C, OC, k, k] (input channels first) and <see cref="Bias"/> [OC],
/// both U(±1/√fan_in) with PyTorch's fan_in for this layout, OC·k·k (the weight's second axis times the kernel), so a
/// PyTorch state dict loads by name and fresh layers start from the same distribution.
/// </remarks>
public sealed class ConvTranspose2d : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inChannels">Channels C of the input.</param>
    /// <param name="outChannels">Channels OC of the output.</param>
    /// <param name="kernelSize">Height and width of each filter.</param>
    /// <param name="stride">Step between neighbouring patches in the output.</param>
    /// <param name="padding">Rows and columns cut from every border of the output.</param>
    /// <param name="outputPadding">Rows and columns added at the bottom and right (below <paramref name="stride"/>):
    /// picks among the output sizes that a stride-s convolution maps to the same H.</param>
    /// <param name="bias">Whether to learn a bias per output channel.</param>
    /// <param name="rng">Generator for the initial values; default <see cref="Init.DefaultRng"/>.</param>
    public ConvTranspose2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int outputPadding = 0, bool bias = true, Rng? rng = null)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize <= 0 || stride <= 0 || padding < 0 || outputPadding < 0 || outputPadding >= stride)
            throw new ArgumentOutOfRangeException(nameof(inChannels),
                $"ConvTranspose2d({inChannels}→{outChannels}, kernel {kernelSize}, stride {stride}, pad {padding}, output pad {outputPadding}): channels, kernel size and stride must be positive, padding at least 0, and output padding at least 0 and below the stride.");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        OutputPadding = outputPadding;
        rng ??= Init.DefaultRng;
        // PyTorch computes fan_in from weight.size(1)·k·k, which for this layout is OC·k·k.
        int fanIn = outChannels * kernelSize * kernelSize, fanOut = inChannels * kernelSize * kernelSize;
        Weight = Init.Parameter([inChannels, outChannels, kernelSize, kernelSize], fanIn, fanOut, rng);
        if (bias) Bias = Init.Parameter([outChannels], fanIn, fanOut, rng);
    }

    /// <summary>Channels of the input.</summary>
    public int InChannels { get; }

    /// <summary>Channels of the output.</summary>
    public int OutChannels { get; }

    /// <summary>Height and width of each filter.</summary>
    public int KernelSize { get; }

    /// <summary>Step between neighbouring patches in the output.</summary>
    public int Stride { get; }

    /// <summary>Rows and columns cut from every border of the output.</summary>
    public int Padding { get; }

    /// <summary>Rows and columns added at the bottom and right of the output.</summary>
    public int OutputPadding { get; }

    /// <summary>The filters, shape [C, OC, k, k].</summary>
    public Tensor Weight { get; }

    /// <summary>One bias per output channel, shape [OC], or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>Output height (or width) for an input height (or width) <paramref name="size"/>.</summary>
    public int OutputSize(int size) => (size - 1) * Stride - 2 * Padding + KernelSize + OutputPadding;

    /// <summary>Y[N, OC, OH, OW] = conv_transpose(X[N, C, H, W], W) + b.</summary>
    /// <exception cref="ShapeMismatchException">The input is not [N, C, H, W], or gives an empty output.</exception>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4 || input.Shape[1] != InChannels)
            throw new ShapeMismatchException($"{this} expected input [N, {InChannels}, H, W] but got {Shapes.Format([.. input.Shape])}.");
        return input.ConvTranspose2d(Weight, Bias, Stride, Padding, OutputPadding);
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Tensor Parameter)> OwnParameters()
    {
        yield return ("weight", Weight);
        if (Bias is not null) yield return ("bias", Bias);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new()
    {
        ["type"] = "ConvTranspose2d", ["in"] = InChannels, ["out"] = OutChannels, ["kernel"] = KernelSize,
        ["stride"] = Stride, ["padding"] = Padding, ["output_padding"] = OutputPadding, ["bias"] = Bias is not null,
    };

    /// <inheritdoc/>
    public override string ToString() =>
        $"ConvTranspose2d({InChannels}→{OutChannels}, {KernelSize}×{KernelSize}" +
        (Stride != 1 ? $", stride {Stride}" : "") + (Padding != 0 ? $", pad {Padding}" : "") +
        (OutputPadding != 0 ? $", output pad {OutputPadding}" : "") + (Bias is null ? ", no bias" : "") + ")";
}
