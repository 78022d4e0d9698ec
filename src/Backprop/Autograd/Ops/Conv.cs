using System.Buffers;
using Backprop.Kernels;

namespace Backprop;

// 2-D convolution: im2col + one GEMM for the whole batch (see Kernels/Conv). Forward and backward side by side.
public sealed partial class Tensor
{
    /// <summary>
    /// 2-D convolution (cross-correlation, as PyTorch's <c>conv2d</c>) of this input [N, C, H, W] with
    /// <paramref name="weight"/> [OC, C, KH, KW] plus <paramref name="bias"/> [OC]: result [N, OC, OH, OW] with
    /// OH = (H + 2·padding − KH) / stride + 1 (likewise OW); the input is padded with zeros on every side.
    /// Backward: dW = dY'·colᵀ, db = Σ dY over batch and pixels, dX = col2im(Wᵀ·dY').
    /// </summary>
    public Tensor Conv2d(Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0)
    {
        ArgumentNullException.ThrowIfNull(weight);
        var x = this;
        var g = ConvGeometryOf(x, weight, bias, stride, padding);
        int oc = weight.dims[0], k = g.K, cols = g.Columns;
        var y = Empty([g.N, oc, g.OH, g.OW]);

        var pool = ArrayPool<float>.Shared;
        float[] col = pool.Rent(k * cols), yt = pool.Rent(oc * cols);
        Im2Col.Forward(col.AsSpan(0, k * cols), x.data, g);
        Conv2dKernels.Forward(y.data, yt.AsSpan(0, oc * cols), col.AsSpan(0, k * cols), weight.data,
            bias is null ? [] : bias.data, oc, g);
        pool.Return(yt);

        // col is kept (rented) for dW until the first backward pass, which gives it back; a second backward pass
        // through the same graph rebuilds it from X. A graph that is never backpropagated lets the GC take it.
        float[]? saved = GradMode.IsEnabled && weight.RequiresGrad ? col : null;
        if (saved is null) pool.Return(col);
        var r = y.Record("conv2d", bias is null ? [x, weight] : [x, weight, bias], dy =>
        {
            float[]? colBuf = null;
            if (weight.RequiresGrad || x.RequiresGrad)
            {
                colBuf = saved ?? pool.Rent(k * cols);
                if (saved is null && weight.RequiresGrad) Im2Col.Forward(colBuf.AsSpan(0, k * cols), x.data, g);
                saved = null;
            }
            var dyt = pool.Rent(oc * cols);
            var dw = weight.RequiresGrad ? Empty(weight.dims) : null;
            var db = bias is { RequiresGrad: true } ? Empty(bias.dims) : null;
            // dcol reuses col's buffer: col is read only by the dW product, which completes before dcol is written.
            Conv2dKernels.Backward(x.RequiresGrad ? colBuf.AsSpan(0, k * cols) : [], dw is null ? [] : dw.data,
                db is null ? [] : db.data, dyt.AsSpan(0, oc * cols), dy.data,
                colBuf is null ? [] : colBuf.AsSpan(0, k * cols), weight.data, oc, g);
            pool.Return(dyt);
            if (x.RequiresGrad)
            {
                var dx = Empty(x.dims);
                Im2Col.Backward(dx.data, colBuf.AsSpan(0, k * cols), g);
                x.AccumulateOwnedGrad(dx);
            }
            if (colBuf is not null) pool.Return(colBuf);
            if (dw is not null) weight.AccumulateOwnedGrad(dw);
            if (db is not null) bias!.AccumulateOwnedGrad(db);
        });
        if (saved is not null && r.Node is null) { pool.Return(saved); saved = null; }
        return r;
    }

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
