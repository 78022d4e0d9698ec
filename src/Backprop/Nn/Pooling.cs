using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>Max pooling over k×k windows of each channel: [N, C, H, W] → [N, C, (H − k)/s + 1, (W − k)/s + 1].</summary>
/// <param name="kernelSize">Window height and width.</param>
/// <param name="stride">Step between windows; default the window size (windows tile the image without overlap).</param>
public sealed class MaxPool2d(int kernelSize, int? stride = null) : Module
{
    /// <summary>Window height and width.</summary>
    public int KernelSize { get; } = kernelSize >= 1 ? kernelSize
        : throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, $"MaxPool2d: kernel size must be at least 1 but got {kernelSize}.");

    /// <summary>Step between windows.</summary>
    public int Stride { get; } = (stride ?? kernelSize) >= 1 ? stride ?? kernelSize
        : throw new ArgumentOutOfRangeException(nameof(stride), stride, $"MaxPool2d: stride must be at least 1 but got {stride}.");

    /// <summary>The max of each window; the gradient flows to that max only.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Pool.CheckInput(this, input, KernelSize);
        return input.MaxPool2d(KernelSize, Stride);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new() { ["type"] = "MaxPool2d", ["kernel"] = KernelSize, ["stride"] = Stride };

    /// <inheritdoc/>
    public override string ToString() => Pool.Describe("MaxPool2d", KernelSize, Stride);
}

/// <summary>Average pooling over k×k windows of each channel: [N, C, H, W] → [N, C, (H − k)/s + 1, (W − k)/s + 1].</summary>
/// <param name="kernelSize">Window height and width.</param>
/// <param name="stride">Step between windows; default the window size (windows tile the image without overlap).</param>
public sealed class AvgPool2d(int kernelSize, int? stride = null) : Module
{
    /// <summary>Window height and width.</summary>
    public int KernelSize { get; } = kernelSize >= 1 ? kernelSize
        : throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, $"AvgPool2d: kernel size must be at least 1 but got {kernelSize}.");

    /// <summary>Step between windows.</summary>
    public int Stride { get; } = (stride ?? kernelSize) >= 1 ? stride ?? kernelSize
        : throw new ArgumentOutOfRangeException(nameof(stride), stride, $"AvgPool2d: stride must be at least 1 but got {stride}.");

    /// <summary>The mean of each window.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Pool.CheckInput(this, input, KernelSize);
        return input.AvgPool2d(KernelSize, Stride);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new() { ["type"] = "AvgPool2d", ["kernel"] = KernelSize, ["stride"] = Stride };

    /// <inheritdoc/>
    public override string ToString() => Pool.Describe("AvgPool2d", KernelSize, Stride);
}

/// <summary>What the pooling layers share: their input check and their description.</summary>
internal static class Pool
{
    public static void CheckInput(Module layer, Tensor input, int kernelSize)
    {
        if (input.Rank != 4)
            throw new ShapeMismatchException($"{layer} expected input [N, C, H, W] but got {Shapes.Format(input.dims)}.");
        if (input.Shape[2] < kernelSize || input.Shape[3] < kernelSize)
            throw new ShapeMismatchException(
                $"{layer} expected an image of at least {kernelSize}×{kernelSize} but got {Shapes.Format(input.dims)}.");
    }

    public static string Describe(string type, int kernelSize, int stride) =>
        $"{type}({kernelSize}×{kernelSize}{(stride != kernelSize ? $", stride {stride}" : "")})";
}
