using System.Numerics.Tensors;
using Backprop.Kernels;

namespace Backprop;

// Transposed 2-D convolution: the adjoint of conv2d with respect to its input. Its forward pass is conv2d's input
// gradient and its input gradient is conv2d's forward pass, so the im2col/col2im + GEMM kernels of Kernels/Conv do all
// the work with the roles of input and output swapped. Forward and backward side by side.
public sealed partial class Tensor
{
    /// <summary>
    /// Transposed 2-D convolution (PyTorch's <c>conv_transpose2d</c>) of this input [N, C, H, W] with
    /// <paramref name="weight"/> [C, OC, KH, KW] (PyTorch's layout: input channels first) plus <paramref name="bias"/>
    /// [OC]: result [N, OC, OH, OW] with OH = (H − 1)·stride − 2·padding + KH + outputPadding (likewise OW).
    /// </summary>
    /// <remarks>
    /// Each input pixel scatters its C values through the kernel into a KH×KW patch of the output, patches
    /// <paramref name="stride"/> apart, then <paramref name="padding"/> rows and columns are cut from every border and
    /// <paramref name="outputPadding"/> (&lt; stride) added at the bottom and right. That is exactly the gradient of
    /// conv2d(Y, W, stride, padding) with respect to Y, whose output is X's H×W. Per image, with the conv's geometry
    /// over Y: Y_n = col2im(Wᵀ[K, C]·X_n[C, H·W]) + b (K = OC·KH·KW). Backward: dX_n = W[C, K]·im2col(dY_n) (conv2d of
    /// dY), dW += X_n·im2col(dY_n)ᵀ (conv2d's weight gradient with dY as its input), db = Σ_{n,pixels} dY.
    /// </remarks>
    public Tensor ConvTranspose2d(Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int outputPadding = 0)
    {
        ArgumentNullException.ThrowIfNull(weight);
        var x = this;
        var g = ConvTransposeGeometryOf(x, weight, bias, stride, padding, outputPadding);
        int c = x.dims[1], oc = g.C, planeOut = g.H * g.W;
        var y = Empty(Shapes.Interned([g.N, oc, g.H, g.W]));             // zeros, or the bias per channel
        if (bias is not null)
            for (int n = 0; n < g.N; n++)
                for (int o = 0; o < oc; o++) y.data.AsSpan((n * oc + o) * planeOut, planeOut).Fill(bias.data[o]);
        // The conv over Y has C output channels; its "dY" is X and its "dX" is Y (accumulated onto the bias).
        Conv2dKernels.Backward(y.data, null, x.data, x.data, weight.data, c, bias: false, g);

        if (y.Record("conv_transpose2d", ConvTranspose2dBackward, x, weight, bias, Saves.Input0 | Saves.Input1) is { } node)
            (node.I0, node.I1) = (stride, padding);
        return y;
    }

    // Inputs X [N, C, H, W], W [C, OC, KH, KW] and, when present, b [OC]; stride and padding in I0, I1. The geometry is
    // that of the conv over Y (the output), as in the forward.
    private static readonly GradNode.StaticBackward ConvTranspose2dBackward = static (node, dy) =>
    {
        var (x, weight) = (node.Inputs[0], node.Inputs[1]);
        var bias = node.Inputs.Length > 2 ? node.Inputs[2] : null;
        var yd = dy.dims;
        var g = new ConvGeometry(yd[0], yd[1], yd[2], yd[3], weight.dims[2], weight.dims[3], node.I0, node.I1);
        int c = x.dims[1], oc = g.C, planeOut = g.H * g.W;
        if (x.RequiresGrad)
        {
            var dx = Empty(x.dims);                                   // dX = conv2d(dY, W)
            Conv2dKernels.Forward(dx.data, dy.data, weight.data, c, bias: false, g);
            x.AccumulateOwnedGrad(dx);
        }
        if (weight.RequiresGrad)
        {
            var dw = Empty(weight.dims);                              // dW[C, K] = Σ_n X_n·im2col(dY_n)ᵀ
            Conv2dKernels.Backward(null, dw.data, x.data, dy.data, weight.data, c, bias: false, g);
            weight.AccumulateOwnedGrad(dw);
        }
        if (bias is { RequiresGrad: true })
        {
            var db = Empty(bias.dims);                                // db[o] = Σ_{n,pixels} dY[n, o]
            for (int n = 0; n < g.N; n++)
                for (int o = 0; o < oc; o++) db.data[o] += TensorPrimitives.Sum<float>(dy.data.AsSpan((n * oc + o) * planeOut, planeOut));
            bias.AccumulateOwnedGrad(db);
        }
    };

    /// <summary>Transposed 2-D convolution of <paramref name="input"/>; see <see cref="ConvTranspose2d(Tensor, Tensor?, int, int, int)"/>.</summary>
    public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int outputPadding = 0)
    {
        ArgumentNullException.ThrowIfNull(input);
        return input.ConvTranspose2d(weight, bias, stride, padding, outputPadding);
    }

    /// <summary>
    /// Checks the shapes of a transposed convolution and returns the geometry of the convolution it is the adjoint of:
    /// that conv's input is the result [N, OC, OH, OW] and its output X's [H, W].
    /// </summary>
    private static ConvGeometry ConvTransposeGeometryOf(Tensor x, Tensor w, Tensor? b, int stride, int padding, int outputPadding)
    {
        const string op = "conv_transpose2d";
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, $"{op}: stride must be at least 1 but got {stride}.");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, $"{op}: padding must be at least 0 but got {padding}.");
        if (outputPadding < 0 || outputPadding >= stride)
            throw new ArgumentOutOfRangeException(nameof(outputPadding), outputPadding, $"{op}: output padding must be at least 0 and below the stride {stride} but got {outputPadding}.");
        if (w.Rank != 4)
            throw new ShapeMismatchException($"{op}: expected weight [C, OC, KH, KW] but got {Shapes.Format(w.dims)}.");
        int c = w.dims[0], oc = w.dims[1], kh = w.dims[2], kw = w.dims[3];
        if (x.Rank != 4 || x.dims[1] != c)
            throw new ShapeMismatchException($"{op}: expected input [N, {c}, H, W] for weight {Shapes.Format(w.dims)} but got {Shapes.Format(x.dims)}.");
        if (b is not null && (b.Rank != 1 || b.dims[0] != oc))
            throw new ShapeMismatchException($"{op}: expected bias [{oc}] for weight {Shapes.Format(w.dims)} but got {Shapes.Format(b.dims)}.");
        int oh = (x.dims[2] - 1) * stride - 2 * padding + kh + outputPadding, ow = (x.dims[3] - 1) * stride - 2 * padding + kw + outputPadding;
        if (oh < 1 || ow < 1)
            throw new ShapeMismatchException(
                $"{op}: input {Shapes.Format(x.dims)} with a {kh}×{kw} kernel, stride {stride} and padding {padding} gives an empty {oh}×{ow} output; lower the padding.");
        return new ConvGeometry(x.dims[0], oc, oh, ow, kh, kw, stride, padding);
    }
}
