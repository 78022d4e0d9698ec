using Backprop.Kernels;

namespace Backprop;

// Pooling over windows of each channel of [N, C, H, W]. Max pooling is the seeds' max gate applied per window:
// the gradient goes to the input that won, and nowhere else.
public sealed partial class Tensor
{
    /// <summary>
    /// Max over each <paramref name="kernelSize"/>² window moved by <paramref name="stride"/> (no padding):
    /// [N, C, H, W] → [N, C, (H − k)/s + 1, (W − k)/s + 1].
    /// Backward: each window's gradient goes to its max; on ties to the first in row-major window order, as PyTorch.
    /// </summary>
    public Tensor MaxPool2d(int kernelSize, int stride)
    {
        var x = this;
        var g = PoolGeometryOf(x, kernelSize, stride, "max_pool2d");
        var y = Empty(Shapes.Interned([g.N, g.C, g.OH, g.OW]));
        Pool2dKernels.MaxForward(y.data, x.data, g);
        if (y.Record("max_pool2d", MaxPoolBackward, x, saves: Saves.Input0) is { } node) (node.I0, node.I1) = (kernelSize, stride);
        return y;
    }

    // Window size and stride in I0, I1 (no padding).
    private static ConvGeometry PoolGeometryOf(GradNode node)
    {
        var x = node.Inputs[0];
        return new ConvGeometry(x.dims[0], x.dims[1], x.dims[2], x.dims[3], node.I0, node.I0, node.I1, 0);
    }

    private static readonly GradNode.StaticBackward MaxPoolBackward = static (node, dy) =>
    {
        var x = node.Inputs[0];
        var dx = Empty(x.dims);
        Pool2dKernels.MaxBackward(dx.data, dy.data, x.data, PoolGeometryOf(node));
        x.AccumulateOwnedGrad(dx);
    };

    /// <summary>
    /// Mean over each <paramref name="kernelSize"/>² window moved by <paramref name="stride"/> (no padding):
    /// [N, C, H, W] → [N, C, (H − k)/s + 1, (W − k)/s + 1]. Backward: dX += dY / k² over each window.
    /// </summary>
    public Tensor AvgPool2d(int kernelSize, int stride)
    {
        var x = this;
        var g = PoolGeometryOf(x, kernelSize, stride, "avg_pool2d");
        var y = Empty(Shapes.Interned([g.N, g.C, g.OH, g.OW]));
        Pool2dKernels.AvgForward(y.data, x.data, g);
        if (y.Record("avg_pool2d", AvgPoolBackward, x) is { } node) (node.I0, node.I1) = (kernelSize, stride);
        return y;
    }

    private static readonly GradNode.StaticBackward AvgPoolBackward = static (node, dy) =>
    {
        var x = node.Inputs[0];
        var dx = Empty(x.dims);
        Pool2dKernels.AvgBackward(dx.data, dy.data, PoolGeometryOf(node));
        x.AccumulateOwnedGrad(dx);
    };

    private static ConvGeometry PoolGeometryOf(Tensor x, int kernelSize, int stride, string op)
    {
        if (kernelSize < 1) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, $"{op}: kernel size must be at least 1 but got {kernelSize}.");
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, $"{op}: stride must be at least 1 but got {stride}.");
        if (x.Rank != 4)
            throw new ShapeMismatchException($"{op}: expected input [N, C, H, W] but got {Shapes.Format(x.dims)}.");
        if (x.dims[2] < kernelSize || x.dims[3] < kernelSize)
            throw new ShapeMismatchException(
                $"{op}: a {kernelSize}×{kernelSize} window needs an image of at least {kernelSize}×{kernelSize} but got {Shapes.Format(x.dims)}.");
        return new ConvGeometry(x.dims[0], x.dims[1], x.dims[2], x.dims[3], kernelSize, kernelSize, stride, 0);
    }
}
