using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// A 1-D convolution over sequences [N, C, L] (PyTorch's <c>nn.Conv1d</c>): <c>weight</c> [out, in, k] and
/// <c>bias</c> [out], both U(±1/√(in·k)) as in PyTorch, so a PyTorch state dict loads by name. See
/// <see cref="Tensor.Conv1d"/>.
/// </summary>
public sealed class Conv1d : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inChannels">C, channels of the input.</param>
    /// <param name="outChannels">Channels of the output (number of filters).</param>
    /// <param name="kernelSize">K, the filter length.</param>
    /// <param name="stride">Step between windows.</param>
    /// <param name="padding">Zeros added at each end of the sequence.</param>
    /// <param name="bias">Whether to learn a bias per output channel.</param>
    /// <param name="rng">Generator for the initial values; default <see cref="Init.DefaultRng"/>.</param>
    public Conv1d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, bool bias = true, Rng? rng = null)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize <= 0 || stride <= 0 || padding < 0)
            throw new ArgumentException($"Conv1d({inChannels}→{outChannels}, k{kernelSize}, stride {stride}, pad {padding}): sizes and stride must be positive, padding ≥ 0.");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        rng ??= Init.DefaultRng;
        int fanIn = inChannels * kernelSize;
        Weight = Init.Parameter([outChannels, inChannels, kernelSize], fanIn, outChannels * kernelSize, rng);
        if (bias) Bias = Init.Parameter([outChannels], fanIn, outChannels, rng);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Filter length.</summary>
    public int KernelSize { get; }

    /// <summary>Step between windows.</summary>
    public int Stride { get; }

    /// <summary>Zeros added at each end.</summary>
    public int Padding { get; }

    /// <summary>Filters [out, in, k].</summary>
    public Tensor Weight { get; }

    /// <summary>Bias [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>[N, in, L] → [N, out, (L + 2·pad − k)/stride + 1].</summary>
    /// <exception cref="ShapeMismatchException">The input is not [N, in, L] with L + 2·pad ≥ k.</exception>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 3 || input.Shape[1] != InChannels || input.Shape[2] + 2 * Padding < KernelSize)
            throw new ShapeMismatchException($"{this} expected input [N, {InChannels}, L] with L ≥ {Math.Max(1, KernelSize - 2 * Padding)} but got {Shapes.Format([.. input.Shape])}.");
        return Tensor.Conv1d(input, Weight, Bias, Stride, Padding);
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
        ["type"] = "Conv1d", ["in"] = InChannels, ["out"] = OutChannels, ["kernel"] = KernelSize, ["stride"] = Stride, ["padding"] = Padding,
        ["bias"] = Bias is not null,
    };

    /// <inheritdoc/>
    public override string ToString() =>
        $"Conv1d({InChannels}→{OutChannels}, k{KernelSize}{(Stride != 1 ? $", stride {Stride}" : "")}{(Padding != 0 ? $", pad {Padding}" : "")}{(Bias is null ? ", no bias" : "")})";
}
