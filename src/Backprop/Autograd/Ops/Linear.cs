using System.Numerics.Tensors;
using Backprop.Kernels;

namespace Backprop;

// PyTorch's F.linear: the weight is stored [out, in] (PyTorch's layout), so one GEMM with a transposed right operand
// does the work, and no transpose is ever copied. Attention and the recurrent layers project with it.
public sealed partial class Tensor
{
    /// <summary>
    /// y = x·Wᵀ + b over the last axis (PyTorch's <c>F.linear</c>): x [*, in], W [out, in], b [out] → y [*, out].
    /// Backward: ∂L/∂x = G·W, ∂L/∂W = Gᵀ·x (over all leading positions), ∂L/∂b = Σ G.
    /// </summary>
    /// <exception cref="ShapeMismatchException">x's last axis is not W's second, or b is not [out].</exception>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 2 || input.Rank < 1 || input.dims[^1] != weight.dims[1])
            throw new ShapeMismatchException($"linear expected input [*, {(weight.Rank == 2 ? weight.dims[1] : "in")}] and weight [out, in] but got input {Shapes.Format(input.dims)} and weight {Shapes.Format(weight.dims)}.");
        int outF = weight.dims[0], inF = weight.dims[1], rows = input.Size / Math.Max(1, inF);
        if (bias is not null && (bias.Rank != 1 || bias.dims[0] != outF))
            throw new ShapeMismatchException($"linear expected bias [{outF}] but got {Shapes.Format(bias.dims)}.");
        var y = Uninitialized(Shapes.WithLast(input.dims, outF));
        LinearForward(y.data, input.data, weight.data, bias?.data, rows, inF, outF);
        if (y.Record("linear", LinearBackward, input, weight, bias, Saves.Input0 | Saves.Input1) is { } node)
            (node.I0, node.I1, node.I2) = (rows, inF, outF);
        return y;
    }

    // Inputs x [rows, in], W [out, in] and, when present, b [out]; G = ∂L/∂Y [rows, out].
    private static readonly GradNode.StaticBackward LinearBackward = static (node, g) =>
    {
        var (input, weight) = (node.Inputs[0], node.Inputs[1]);
        var bias = node.Inputs.Length > 2 ? node.Inputs[2] : null;
        int rows = node.I0, inF = node.I1, outF = node.I2;
        if (input.RequiresGrad)
        {
            var dx = Uninitialized(input.dims);   // dX[rows, in] = G[rows, out]·W[out, in]
            Gemm.Multiply(dx.data, g.data, weight.data, rows, inF, outF);
            input.AccumulateOwnedGrad(dx);
        }
        if (weight.RequiresGrad)
        {
            var dw = Uninitialized(weight.dims);   // dW[out, in] = G[rows, out]ᵀ·X[rows, in]
            Gemm.Multiply(dw.data, g.data, input.data, outF, inF, rows, transA: true);
            weight.AccumulateOwnedGrad(dw);
        }
        if (bias is { RequiresGrad: true })
        {
            var db = Empty(bias.dims);
            SumRows(db.data, g.data, rows, outF);
            bias.AccumulateOwnedGrad(db);
        }
    };

    /// <summary>y[rows, out] = x[rows, in]·W[out, in]ᵀ (+ b[out] on every row).</summary>
    internal static void LinearForward(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, int rows, int inF, int outF)
    {
        if (b.IsEmpty) Gemm.Multiply(y, x, w, rows, outF, inF, transB: true);
        else Gemm.MultiplyOntoRowBias(y, x, w, b, rows, outF, inF, transB: true);
    }

    /// <summary>sums[cols] += Σ over rows of m[rows, cols].</summary>
    internal static void SumRows(Span<float> sums, ReadOnlySpan<float> m, int rows, int cols)
    {
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(sums, m.Slice(r * cols, cols), sums);
    }
}
