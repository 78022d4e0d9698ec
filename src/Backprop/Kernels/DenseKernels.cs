using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Backprop.Kernels;

/// <summary>The non-linearity a fused dense step applies after adding the bias.</summary>
internal enum ActivationKind
{
    /// <summary>y = z.</summary>
    Identity,
    /// <summary>y = max(0, z).</summary>
    Relu,
    /// <summary>y = z for z &gt; 0, else slope·z.</summary>
    LeakyRelu,
    /// <summary>y = 1/(1+e⁻ᶻ).</summary>
    Sigmoid,
    /// <summary>y = tanh z.</summary>
    Tanh,
    /// <summary>y = e^(z − max) / Σ e^(z − max) along each row.</summary>
    Softmax,
}

/// <summary>
/// Graph-free forward pass of a dense layer: <c>Y[batch, out] = act(X[batch, in]·W[in, out] + b[out])</c>.
/// Span in, span out; no allocation, no autograd. The hot methods are compiled fully optimised from their first call
/// (AggressiveOptimization): under tiered compilation a busy process could otherwise run them unoptimised for a
/// while, which made batch-1 latency swing between 5 and 24 µs from run to run.
/// </summary>
/// <remarks>
/// Results are bit-identical to the autograd path (MatMul, broadcast add, then the activation op): the product sums
/// over k in ascending order with a separate multiply and add (not FMA), as <see cref="GemmSmall"/> does, and the
/// activations call the same <see cref="TensorPrimitives"/> functions. Batch 1 takes a dedicated GEMV (see
/// <see cref="Gemv(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, SimdWidth)"/>); larger batches
/// call <c>Gemm.Multiply</c>. Every element-wise step runs at <see cref="Simd.Width"/>; the overloads that take a
/// <see cref="SimdWidth"/> let tests run each width against the scalar twin.
/// </remarks>
internal static partial class DenseKernels
{
    /// <summary>
    /// False when <c>BACKPROP_GEMV=off</c>: batch 1 then calls <c>Gemm.Multiply</c> (its few-rows path) instead
    /// of <see cref="Gemv(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, SimdWidth)"/>, to compare the two.
    /// </summary>
    internal static bool UseGemv { get; } = Environment.GetEnvironmentVariable("BACKPROP_GEMV") != "off";

    /// <summary>
    /// y[batch, out] = act(x[batch, in]·w[in, out] + bias[out]). <paramref name="bias"/> may be empty (no bias);
    /// <paramref name="slope"/> is used by <see cref="ActivationKind.LeakyRelu"/> only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias,
        int batch, int inFeatures, int outFeatures, ActivationKind act, float slope)
    {
        if (batch == 1 && UseGemv) Gemv(y[..outFeatures], x[..inFeatures], w[..(inFeatures * outFeatures)], inFeatures, outFeatures, Simd.Width, Gemm.MaxThreads);
        else Gemm.Multiply(y, x, w, batch, outFeatures, inFeatures);
        BiasActivateRows(y, bias, batch, outFeatures, act, slope);
    }

    /// <summary>
    /// y[r, :] = act(y[r, :] + bias) for each of the <paramref name="rows"/> rows of y[rows, cols]. ReLU and leaky ReLU
    /// run as one call over the whole block (a convolution's output has thousands of narrow rows, where a call per
    /// row would cost more than the row itself); the other activations go row by row.
    /// </summary>
    public static void BiasActivateRows(Span<float> y, ReadOnlySpan<float> bias, int rows, int cols, ActivationKind act, float slope) =>
        BiasActivateRows(y, bias, rows, cols, act, slope, Simd.Width);

    /// <summary><see cref="BiasActivateRows(Span{float}, ReadOnlySpan{float}, int, int, ActivationKind, float)"/> at a given width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void BiasActivateRows(Span<float> y, ReadOnlySpan<float> bias, int rows, int cols, ActivationKind act, float slope, SimdWidth width)
    {
        if (act is ActivationKind.Relu or ActivationKind.LeakyRelu)
        {
            BiasRelu(y[..(rows * cols)], bias, cols, act == ActivationKind.Relu ? 0f : slope, width);
            return;
        }
        for (int i = 0; i < rows; i++)
            BiasActivate(y.Slice(i * cols, cols), bias, act);
    }

    /// <summary>
    /// row = act(row + bias) for one row, for the activations other than ReLU: add the bias, then call the
    /// vectorised <see cref="TensorPrimitives"/> function that the autograd op uses.
    /// </summary>
    private static void BiasActivate(Span<float> row, ReadOnlySpan<float> bias, ActivationKind act)
    {
        if (!bias.IsEmpty) TensorPrimitives.Add(row, bias[..row.Length], row);
        switch (act)
        {
            case ActivationKind.Identity:
                break;
            case ActivationKind.Sigmoid:
                TensorPrimitives.Sigmoid(row, row);
                break;
            case ActivationKind.Tanh:
                TensorPrimitives.Tanh(row, row);
                break;
            case ActivationKind.Softmax:
                float max = TensorPrimitives.Max(row);
                TensorPrimitives.Subtract(row, max, row);
                TensorPrimitives.Exp(row, row);
                TensorPrimitives.Divide(row, TensorPrimitives.Sum(row), row);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(act), act, "unknown activation kind.");
        }
    }

    /// <summary>
    /// For each row of y [·, cols]: z = row + bias; row = z &gt; 0 ? z : slope·z (slope 0 is ReLU: −0 and negatives
    /// become +0, as <c>TensorPrimitives.Max(z, 0)</c> gives). An empty bias adds nothing.
    /// </summary>
    internal static void BiasRelu(Span<float> y, ReadOnlySpan<float> bias, int cols, float slope, SimdWidth width)
    {
        if (!bias.IsEmpty && bias.Length < cols)
            throw new ArgumentException($"DenseKernels: bias has {bias.Length} values but the rows have {cols}.");
        if (bias.IsEmpty)
        {
            if (slope == 0f) SimdDriver.Map<ReluOperator>(y, y, width);
            else SimdDriver.Map<LeakyReluOperator>(y, y, slope, width);
        }
        else if (slope == 0f) SimdDriver.MapRows<BiasReluOperator>(y, y, bias, cols, width);
        else SimdDriver.MapRows<BiasLeakyReluOperator>(y, y, bias, slope, cols, width);
    }
}
