using System.Buffers;
using Backprop.Kernels;

namespace Backprop;

// 2-D convolution: im2col + GEMM per image (see Kernels/Conv). Forward and backward side by side.
public sealed partial class Tensor
{
    /// <summary>
    /// 2-D convolution (cross-correlation, as PyTorch's <c>conv2d</c>) of this input [N, C, H, W] with
    /// <paramref name="weight"/> [OC, C, KH, KW] plus <paramref name="bias"/> [OC]: result [N, OC, OH, OW] with
    /// OH = (H + 2·padding − KH) / stride + 1 (likewise OW); the input is padded with zeros on every side.
    /// Backward, per image n with col_n = im2col(X_n): dW += dY_n·col_nᵀ, db += Σ_pixels dY_n, dX_n = col2im(Wᵀ·dY_n).
    /// </summary>
    public Tensor Conv2d(Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0)
    {
        ArgumentNullException.ThrowIfNull(weight);
        var x = this;
        var g = ConvGeometryOf(x, weight, bias, stride, padding);
        int oc = weight.dims[0], k = g.K, k1 = k + (bias is null ? 0 : 1);
        var y = Empty(Shapes.Interned([g.N, oc, g.OH, g.OW]));

        // Wb [OC, K1] = [W | b]: the bias rides in the GEMM against a row of ones in col (see Conv2dKernels).
        var wb = bias is null ? weight.data : ArrayPool<float>.Shared.Rent(oc * k1);
        if (bias is not null)
            for (int o = 0; o < oc; o++)
            {
                weight.data.AsSpan(o * k, k).CopyTo(wb.AsSpan(o * k1, k));
                wb[o * k1 + k] = bias.data[o];
            }
        Conv2dKernels.Forward(y.data, x.data, wb, oc, bias is not null, g);
        if (bias is not null) ArrayPool<float>.Shared.Return(wb);

        if (y.Record("conv2d", Conv2dBackward, x, weight, bias, Saves.Input0 | Saves.Input1) is { } node) (node.I0, node.I1) = (stride, padding);
        return y;
    }

    // Inputs X [N, C, H, W], W [OC, C, KH, KW] and, when present, b [OC]; stride and padding in I0, I1.
    private static readonly GradNode.StaticBackward Conv2dBackward = static (node, dy) =>
    {
        var (x, weight) = (node.Inputs[0], node.Inputs[1]);
        var bias = node.Inputs.Length > 2 ? node.Inputs[2] : null;
        var g = new ConvGeometry(x.dims[0], x.dims[1], x.dims[2], x.dims[3], weight.dims[2], weight.dims[3], node.I0, node.I1);
        int oc = weight.dims[0], k = g.K, k1 = k + (bias is null ? 0 : 1);
        bool wantW = weight.RequiresGrad || bias is { RequiresGrad: true };
        var dx = x.RequiresGrad ? Empty(x.dims) : null;
        var dwb = wantW ? ArrayPool<float>.Shared.Rent(oc * k1) : null;
        dwb?.AsSpan(0, oc * k1).Clear();
        Conv2dKernels.Backward(dx?.data, dwb, dy.data, x.data, weight.data, oc, bias is not null, g);
        if (dx is not null) x.AccumulateOwnedGrad(dx);
        if (dwb is null) return;
        if (weight.RequiresGrad)
        {
            var dw = Empty(weight.dims);   // dW[o, :] = dWb[o, :K]
            for (int o = 0; o < oc; o++) dwb.AsSpan(o * k1, k).CopyTo(dw.data.AsSpan(o * k, k));
            weight.AccumulateOwnedGrad(dw);
        }
        if (bias is { RequiresGrad: true })
        {
            var db = Empty(bias.dims);     // db[o] = dWb[o, K]
            for (int o = 0; o < oc; o++) db.data[o] = dwb[o * k1 + k];
            bias.AccumulateOwnedGrad(db);
        }
        ArrayPool<float>.Shared.Return(dwb);
    };

    /// <summary>2-D convolution of <paramref name="input"/> [N, C, H, W]; see <see cref="Conv2d(Tensor, Tensor?, int, int)"/>.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0)
    {
        ArgumentNullException.ThrowIfNull(input);
        return input.Conv2d(weight, bias, stride, padding);
    }

    /// <summary>Checks the shapes of a convolution and returns its geometry; errors name what was expected and what arrived.</summary>
    private static ConvGeometry ConvGeometryOf(Tensor x, Tensor w, Tensor? b, int stride, int padding)
    {
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, $"conv2d: stride must be at least 1 but got {stride}.");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, $"conv2d: padding must be at least 0 but got {padding}.");
        if (w.Rank != 4)
            throw new ShapeMismatchException($"conv2d: expected weight [OC, C, KH, KW] but got {Shapes.Format(w.dims)}.");
        int oc = w.dims[0], c = w.dims[1], kh = w.dims[2], kw = w.dims[3];
        if (x.Rank != 4 || x.dims[1] != c)
            throw new ShapeMismatchException($"conv2d: expected input [N, {c}, H, W] for weight {Shapes.Format(w.dims)} but got {Shapes.Format(x.dims)}.");
        if (b is not null && (b.Rank != 1 || b.dims[0] != oc))
            throw new ShapeMismatchException($"conv2d: expected bias [{oc}] for weight {Shapes.Format(w.dims)} but got {Shapes.Format(b.dims)}.");
        int h = x.dims[2], wd = x.dims[3];
        if (h + 2 * padding < kh || wd + 2 * padding < kw)
            throw new ShapeMismatchException(
                $"conv2d: a {kh}×{kw} kernel needs an image of at least {kh}×{kw} after padding {padding}, but input {Shapes.Format(x.dims)} gives {h + 2 * padding}×{wd + 2 * padding}.");
        return new ConvGeometry(x.dims[0], c, h, wd, kh, kw, stride, padding);
    }
}
