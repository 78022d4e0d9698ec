namespace Backprop;

// 1-D convolution as the 2-D one on a height-1 image: the 2-D kernel (im2col + GEMM, with its backward) does the
// work, and only the length axis is padded, so no wasted rows are computed.
public sealed partial class Tensor
{
    /// <summary>
    /// 1-D convolution (cross-correlation, PyTorch's <c>conv1d</c>) of x [N, C, L] with <paramref name="weight"/>
    /// [OC, C, K] plus <paramref name="bias"/> [OC]: result [N, OC, OL], OL = (L + 2·padding − K)/stride + 1, x padded
    /// with zeros at both ends. Gradients through <see cref="Conv2d(Tensor, Tensor?, int, int)"/>.
    /// </summary>
    /// <exception cref="ShapeMismatchException">x is not [N, C, L] or the weight not [OC, C, K].</exception>
    public static Tensor Conv1d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (input.Rank != 3 || weight.Rank != 3 || input.dims[1] != weight.dims[1])
            throw new ShapeMismatchException($"conv1d expected input [N, C, L] and weight [OC, C, K] with equal C but got input {Shapes.Format(input.dims)} and weight {Shapes.Format(weight.dims)}.");
        int n = input.dims[0], c = input.dims[1], oc = weight.dims[0], k = weight.dims[2];
        var x = input.Reshape(n, c, 1, input.dims[2]);
        if (padding > 0)
        {
            var zeros = Zeros(n, c, 1, padding);
            x = Concat([zeros, x, zeros], 3);
        }
        var y = x.Conv2d(weight.Reshape(oc, c, 1, k), bias, stride, 0);
        return y.Reshape(n, oc, y.dims[3]);
    }
}
