using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// A 2-D convolution layer with square kernels: [N, C, H, W] → [N, OC, OH, OW], OH = (H + 2·pad − k) / stride + 1.
/// </summary>
/// <remarks>
/// Parameters follow PyTorch's <c>nn.Conv2d</c>: <see cref="Weight"/> [OC, C, k, k] and <see cref="Bias"/> [OC], both
/// U(±1/√fan_in) by default with fan_in = C·k·k, so a model's weights transfer from PyTorch unchanged.
/// </remarks>
public sealed class Conv2d : Module
{
    /// <summary>Creates a layer with <paramref name="outChannels"/> filters of <paramref name="kernelSize"/>² over
    /// <paramref name="inChannels"/> input channels.</summary>
    /// <param name="inChannels">Channels C of the input.</param>
    /// <param name="outChannels">Filters, i.e. channels OC of the output.</param>
    /// <param name="kernelSize">Height and width of each filter.</param>
    /// <param name="stride">Step between neighbouring windows.</param>
    /// <param name="padding">Zeros added on every side of the image.</param>
    /// <param name="bias">Whether to add a learned bias per output channel.</param>
    /// <param name="init">Weight initializer given fan_in = C·k·k and fan_out = OC·k·k (default U(±1/√fan_in), as
    /// PyTorch); the bias always uses U(±1/√fan_in).</param>
    /// <param name="rng">Generator for the initial values; default <see cref="Init.DefaultRng"/>.</param>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, bool bias = true,
        Initializer? init = null, Rng? rng = null)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize <= 0 || stride <= 0 || padding < 0)
            throw new ArgumentOutOfRangeException(nameof(inChannels),
                $"Conv2d({inChannels}→{outChannels}, kernel {kernelSize}, stride {stride}, pad {padding}): channels, kernel size and stride must be positive and padding at least 0.");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        rng ??= Init.DefaultRng;
        int fanIn = inChannels * kernelSize * kernelSize, fanOut = outChannels * kernelSize * kernelSize;
        Weight = Init.Parameter([outChannels, inChannels, kernelSize, kernelSize], fanIn, fanOut, rng, init);
        if (bias) Bias = Init.Parameter([outChannels], fanIn, fanOut, rng);
    }

    /// <summary>Channels of the input.</summary>
    public int InChannels { get; }

    /// <summary>Channels of the output (number of filters).</summary>
    public int OutChannels { get; }

    /// <summary>Height and width of each filter.</summary>
    public int KernelSize { get; }

    /// <summary>Step between neighbouring windows.</summary>
    public int Stride { get; }

    /// <summary>Zeros added on every side.</summary>
    public int Padding { get; }

    /// <summary>The filters, shape [OC, C, k, k].</summary>
    public Tensor Weight { get; }

    /// <summary>One bias per output channel, shape [OC], or null for a layer without bias.</summary>
    public Tensor? Bias { get; }

    /// <summary>Y[N, OC, OH, OW] = conv(X[N, C, H, W], W) + b (b broadcast over batch and pixels).</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4 || input.Shape[1] != InChannels)
            throw new ShapeMismatchException($"{this} expected input [N, {InChannels}, H, W] but got {Shapes.Format(input.dims)}.");
        if (input.Shape[2] + 2 * Padding < KernelSize || input.Shape[3] + 2 * Padding < KernelSize)
            throw new ShapeMismatchException(
                $"{this} expected an image of at least {KernelSize}×{KernelSize} after padding but got {Shapes.Format(input.dims)}.");
        return input.Conv2d(Weight, Bias, Stride, Padding);
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
        ["type"] = "Conv2d", ["in"] = InChannels, ["out"] = OutChannels, ["kernel"] = KernelSize,
        ["stride"] = Stride, ["padding"] = Padding, ["bias"] = Bias is not null,
    };

    /// <inheritdoc/>
    public override string ToString() =>
        $"Conv2d({InChannels}→{OutChannels}, {KernelSize}×{KernelSize}" +
        (Stride != 1 ? $", stride {Stride}" : "") + (Padding != 0 ? $", pad {Padding}" : "") + (Bias is null ? ", no bias" : "") + ")";
}
