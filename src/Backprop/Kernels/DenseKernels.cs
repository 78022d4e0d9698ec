using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
/// <see cref="Gemv"/>); larger batches call <c>Gemm.Multiply</c>.
/// </remarks>
internal static partial class DenseKernels
{
    private const int Lanes = 16;          // Vector512<float>.Count
    private const int BlockColumns = 8 * Lanes; // eight zmm accumulators: 128 columns of y held in registers

    /// <summary>True when batch-1 products take the Vector512 GEMV; false forces its scalar twin (BACKPROP_GEMM=scalar).</summary>
    internal static bool UseVector512 { get; } = Vector512.IsHardwareAccelerated && Gemm.Variant != GemmVariant.Scalar;

    /// <summary>
    /// False when <c>BACKPROP_GEMV=off</c>: batch 1 then calls <c>Gemm.Multiply</c> (its few-rows path) instead
    /// of <see cref="Gemv"/>, to compare the two.
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
        if (batch == 1 && UseGemv) Gemv(y[..outFeatures], x[..inFeatures], w[..(inFeatures * outFeatures)], inFeatures, outFeatures);
        else Gemm.Multiply(y, x, w, batch, outFeatures, inFeatures);
        BiasActivateRows(y, bias, batch, outFeatures, act, slope);
    }

    /// <summary>
    /// y[r, :] = act(y[r, :] + bias) for each of the <paramref name="rows"/> rows of y[rows, cols]. ReLU and leaky ReLU
    /// run as one call over the whole block (a convolution's output has thousands of narrow rows, where a call per
    /// row would cost more than the row itself); the other activations go row by row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BiasActivateRows(Span<float> y, ReadOnlySpan<float> bias, int rows, int cols, ActivationKind act, float slope)
    {
        if (act is ActivationKind.Relu or ActivationKind.LeakyRelu)
        {
            BiasRelu(y[..(rows * cols)], bias, cols, act == ActivationKind.Relu ? 0f : slope);
            return;
        }
        for (int i = 0; i < rows; i++)
            BiasActivate(y.Slice(i * cols, cols), bias, act, slope);
    }

    /// <summary>y[n] = Σ_k x[k]·W[k, :] for W [k, n]: the Vector512 path, or its scalar twin.</summary>
    internal static void Gemv(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> w, int k, int n)
    {
        if (UseVector512) Gemv512(y, x, w, k, n);
        else GemvScalar(y, x, w, k, n);
    }

    /// <summary>
    /// W is [k, n] row-major, so y = x·W is an axpy of row k of W per input element. Columns go in blocks of 128
    /// whose partial sums stay in eight zmm registers while the k rows stream past (no load/store of y per row);
    /// zero inputs — about half the values after ReLU, and most pixels of an MNIST image — are skipped, since
    /// adding 0·W[k, j] leaves the sum unchanged.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Gemv512(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> w, int k, int n)
    {
        if (y.Length < n || x.Length < k || w.Length < (long)k * n) ThrowSizes(y.Length, x.Length, w.Length, k, n);
        ref float wr = ref MemoryMarshal.GetReference(w);
        ref float yr = ref MemoryMarshal.GetReference(y);
        int j = 0;
        for (; j + BlockColumns <= n; j += BlockColumns)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default,
                a4 = default, a5 = default, a6 = default, a7 = default;
            for (int p = 0; p < k; p++)
            {
                float xp = x[p];
                if (xp == 0f) continue;
                var s = Vector512.Create(xp);
                ref float row = ref Unsafe.Add(ref wr, (nint)p * n + j);
                a0 += Vector512.LoadUnsafe(ref row, 0 * Lanes) * s;
                a1 += Vector512.LoadUnsafe(ref row, 1 * Lanes) * s;
                a2 += Vector512.LoadUnsafe(ref row, 2 * Lanes) * s;
                a3 += Vector512.LoadUnsafe(ref row, 3 * Lanes) * s;
                a4 += Vector512.LoadUnsafe(ref row, 4 * Lanes) * s;
                a5 += Vector512.LoadUnsafe(ref row, 5 * Lanes) * s;
                a6 += Vector512.LoadUnsafe(ref row, 6 * Lanes) * s;
                a7 += Vector512.LoadUnsafe(ref row, 7 * Lanes) * s;
            }
            ref float yj = ref Unsafe.Add(ref yr, j);
            a0.StoreUnsafe(ref yj, 0 * Lanes);
            a1.StoreUnsafe(ref yj, 1 * Lanes);
            a2.StoreUnsafe(ref yj, 2 * Lanes);
            a3.StoreUnsafe(ref yj, 3 * Lanes);
            a4.StoreUnsafe(ref yj, 4 * Lanes);
            a5.StoreUnsafe(ref yj, 5 * Lanes);
            a6.StoreUnsafe(ref yj, 6 * Lanes);
            a7.StoreUnsafe(ref yj, 7 * Lanes);
        }
        for (; j + Lanes <= n; j += Lanes)
        {
            Vector512<float> a = default;
            for (int p = 0; p < k; p++)
            {
                float xp = x[p];
                if (xp == 0f) continue;
                a += Vector512.LoadUnsafe(ref wr, (nuint)((nint)p * n + j)) * Vector512.Create(xp);
            }
            a.StoreUnsafe(ref yr, (nuint)j);
        }
        for (; j < n; j++) y[j] = Column(x, w, k, n, j);
    }

    /// <summary>The scalar twin of <see cref="Gemv512"/>: the same sums in the same order, one column at a time.</summary>
    internal static void GemvScalar(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> w, int k, int n)
    {
        if (y.Length < n || x.Length < k || w.Length < (long)k * n) ThrowSizes(y.Length, x.Length, w.Length, k, n);
        for (int j = 0; j < n; j++) y[j] = Column(x, w, k, n, j);
    }

    // y[j] = Σ_p x[p]·W[p, j], p ascending, zeros skipped, multiply then add (no FMA) as the vector lanes do.
    private static float Column(ReadOnlySpan<float> x, ReadOnlySpan<float> w, int k, int n, int j)
    {
        float s = 0f;
        for (int p = 0; p < k; p++)
        {
            float xp = x[p];
            if (xp != 0f) s += w[p * n + j] * xp;
        }
        return s;
    }

    /// <summary>
    /// row = act(row + bias) for one row of length n. Identity, ReLU and leaky ReLU fuse the bias into one pass
    /// (<see cref="BiasRelu"/>); sigmoid, tanh and softmax add the bias, then call the vectorised
    /// <see cref="TensorPrimitives"/> function that the autograd op uses.
    /// </summary>
    private static void BiasActivate(Span<float> row, ReadOnlySpan<float> bias, ActivationKind act, float slope)
    {
        switch (act)
        {
            case ActivationKind.Identity:
                if (!bias.IsEmpty) TensorPrimitives.Add(row, bias, row);
                return;
            case ActivationKind.Relu:
                BiasRelu(row, bias, row.Length, 0f);
                return;
            case ActivationKind.LeakyRelu:
                BiasRelu(row, bias, row.Length, slope);
                return;
        }
        if (!bias.IsEmpty) TensorPrimitives.Add(row, bias, row);
        switch (act)
        {
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
    /// become +0, as <c>TensorPrimitives.Max(z, 0)</c> gives). Vector512 lanes with a scalar tail and scalar twin.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void BiasRelu(Span<float> y, ReadOnlySpan<float> bias, int cols, float slope)
    {
        bool hasBias = !bias.IsEmpty;
        if (hasBias && bias.Length < cols)
            throw new ArgumentException($"DenseKernels: bias has {bias.Length} values but the rows have {cols}.");
        ref float b = ref MemoryMarshal.GetReference(bias);
        var vs = Vector512.Create(slope);
        for (int start = 0; start < y.Length; start += cols)
        {
            var row = y.Slice(start, cols);
            int i = 0;
            if (UseVector512)
            {
                ref float r = ref MemoryMarshal.GetReference(row);
                for (; i + Lanes <= cols; i += Lanes)
                {
                    var z = Vector512.LoadUnsafe(ref r, (nuint)i);
                    if (hasBias) z += Vector512.LoadUnsafe(ref b, (nuint)i);
                    var neg = slope == 0f ? Vector512<float>.Zero : z * vs;
                    Vector512.ConditionalSelect(Vector512.GreaterThan(z, Vector512<float>.Zero), z, neg).StoreUnsafe(ref r, (nuint)i);
                }
            }
            for (; i < cols; i++)
            {
                float z = hasBias ? row[i] + bias[i] : row[i];
                row[i] = z > 0f ? z : slope == 0f ? 0f : slope * z;
            }
        }
    }

    private static void ThrowSizes(int y, int x, int w, int k, int n) =>
        throw new ArgumentException($"DenseKernels.Gemv: expected y ≥ {n}, x ≥ {k}, W ≥ {(long)k * n} values for k={k}, n={n}, but got y {y}, x {x}, W {w}.");
}
