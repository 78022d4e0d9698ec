using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Backprop.Kernels;

/// <summary>
/// Batch normalisation (training mode) of rows x [R, C] with statistics per column: the channels-last layout of the
/// compiled training step, where a batch of images [N, H, W, C] is R = N·H·W rows of C channels and a batch of
/// features [N, F] is R = N rows of F. Spans in, spans out; no allocation, no autograd.
/// </summary>
/// <remarks>
/// The arithmetic is <see cref="BatchNormKernels"/>' with S = 1, operation for operation: each channel's values are
/// summed in the same (row) order in double, and the per-value formulas are the same float expressions, so the
/// results are bit for bit those of <see cref="BatchNormKernels"/> over [R, C, 1], its scalar twin. Only the loop
/// order differs: the inner loops run across a row's C contiguous channels, one <see cref="Vector{T}"/> of channels at
/// a time with a scalar tail, and the per-channel accumulators live in caller-owned scratch. The row loops take any
/// run of rows, so a caller may split a batch across threads and add the partial sums in a fixed order.
/// </remarks>
internal static class BatchNormRows
{
    /// <summary>
    /// mean[c] = Σ_r x[r, c] / R and the biased variance var[c] = Σ_r (x[r, c] − mean[c])² / R, two passes
    /// accumulated in double (see <see cref="BatchNormKernels.Statistics"/>): <see cref="SumColumns"/>, then
    /// <see cref="SumSquaredDeviations"/> from the mean in double. <paramref name="scratch"/> holds at least 2·C doubles.
    /// </summary>
    public static void Statistics(Span<float> mean, Span<float> variance, ReadOnlySpan<float> x, int rows, int c, Span<double> scratch)
    {
        Check(x.Length, rows, c, scratch.Length, 2 * c);
        var mu = scratch[..c];
        var sq = scratch.Slice(c, c);
        mu.Clear();
        sq.Clear();
        SumColumns(mu, x, rows, c);
        for (int j = 0; j < c; j++) mu[j] /= rows;
        SumSquaredDeviations(sq, x, mu, rows, c);
        for (int j = 0; j < c; j++)
        {
            mean[j] = (float)mu[j];
            variance[j] = (float)(sq[j] / rows);
        }
    }

    /// <summary>sum[c] += Σ_r x[r, c], in double, rows in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SumColumns(Span<double> sum, ReadOnlySpan<float> x, int rows, int c)
    {
        Check(x.Length, rows, c, sum.Length, c);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref double mr = ref MemoryMarshal.GetReference(sum);
        int w = Vector<float>.Count, half = Vector<double>.Count;
        bool vector = Vector.IsHardwareAccelerated;
        for (int r = 0; r < rows; r++)
        {
            int at = r * c, j = 0;
            if (vector)
                for (; j + w <= c; j += w)
                {
                    Vector.Widen(Vector.LoadUnsafe(ref xr, (nuint)(at + j)), out var lo, out var hi);
                    (Vector.LoadUnsafe(ref mr, (nuint)j) + lo).StoreUnsafe(ref mr, (nuint)j);
                    (Vector.LoadUnsafe(ref mr, (nuint)(j + half)) + hi).StoreUnsafe(ref mr, (nuint)(j + half));
                }
            for (; j < c; j++) sum[j] += x[at + j];
        }
    }

    /// <summary>sq[c] += Σ_r (x[r, c] − μ[c])², in double with μ in double, rows in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SumSquaredDeviations(Span<double> sq, ReadOnlySpan<float> x, ReadOnlySpan<double> mu, int rows, int c)
    {
        Check(x.Length, rows, c, Math.Min(sq.Length, mu.Length), c);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref double mr = ref MemoryMarshal.GetReference(mu);
        ref double qr = ref MemoryMarshal.GetReference(sq);
        int w = Vector<float>.Count, half = Vector<double>.Count;
        bool vector = Vector.IsHardwareAccelerated;
        for (int r = 0; r < rows; r++)
        {
            int at = r * c, j = 0;
            if (vector)
                for (; j + w <= c; j += w)
                {
                    Vector.Widen(Vector.LoadUnsafe(ref xr, (nuint)(at + j)), out var lo, out var hi);
                    var dlo = lo - Vector.LoadUnsafe(ref mr, (nuint)j);
                    var dhi = hi - Vector.LoadUnsafe(ref mr, (nuint)(j + half));
                    (Vector.LoadUnsafe(ref qr, (nuint)j) + dlo * dlo).StoreUnsafe(ref qr, (nuint)j);
                    (Vector.LoadUnsafe(ref qr, (nuint)(j + half)) + dhi * dhi).StoreUnsafe(ref qr, (nuint)(j + half));
                }
            for (; j < c; j++)
            {
                double d = x[at + j] - mu[j];
                sq[j] += d * d;
            }
        }
    }

    /// <summary>
    /// y[r, c] = act(x[r, c]·scale[c] + shift[c]) (see <see cref="BatchNormKernels.ScaleShift"/> for scale and shift).
    /// ReLU and leaky ReLU (slope ≥ 0) are applied in the same pass; sigmoid and tanh by
    /// <see cref="TensorPrimitives"/> over the block afterwards, as the autograd ops compute them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Normalize(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift,
        int rows, int c, ActivationKind act, float slope)
    {
        Check(x.Length, rows, c, y.Length, rows * c);
        if (scale.Length < c || shift.Length < c)
            throw new ArgumentException($"BatchNormRows: expected {c} scales and shifts but got {scale.Length} and {shift.Length}.");
        bool relu = act is ActivationKind.Relu or ActivationKind.LeakyRelu;
        if (act == ActivationKind.Relu) slope = 0f;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float ar = ref MemoryMarshal.GetReference(scale);
        ref float br = ref MemoryMarshal.GetReference(shift);
        int w = Vector<float>.Count;
        bool vector = Vector.IsHardwareAccelerated;
        var vs = new Vector<float>(slope);
        for (int r = 0; r < rows; r++)
        {
            int at = r * c, j = 0;
            if (vector)
                for (; j + w <= c; j += w)
                {
                    var z = Vector.LoadUnsafe(ref xr, (nuint)(at + j)) * Vector.LoadUnsafe(ref ar, (nuint)j) + Vector.LoadUnsafe(ref br, (nuint)j);
                    if (relu) z = Vector.ConditionalSelect(Vector.GreaterThan(z, Vector<float>.Zero), z, slope == 0f ? Vector<float>.Zero : z * vs);
                    z.StoreUnsafe(ref yr, (nuint)(at + j));
                }
            for (; j < c; j++)
            {
                float z = x[at + j] * scale[j] + shift[j];
                y[at + j] = !relu || z > 0f ? z : slope == 0f ? 0f : slope * z;
            }
        }
        var block = y[..(rows * c)];
        switch (act)
        {
            case ActivationKind.Identity or ActivationKind.Relu or ActivationKind.LeakyRelu:
                return;
            case ActivationKind.Sigmoid:
                TensorPrimitives.Sigmoid(block, block);
                return;
            case ActivationKind.Tanh:
                TensorPrimitives.Tanh(block, block);
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(act), act, "BatchNormRows: softmax is fused with the loss, not with a normalisation.");
        }
    }

    /// <summary>
    /// The per-channel sums of the backward (see <see cref="BatchNormKernels.ParameterGradients"/>): dβ[c] = Σ_r g and
    /// dγ[c] = invStd[c]·Σ_r g·(x − μ), in double, through <see cref="SumGradients"/> (which see for
    /// <paramref name="reluSlope"/>). <paramref name="scratch"/> holds at least 2·C doubles.
    /// </summary>
    public static void GradientSums(Span<float> dGamma, Span<float> dBeta, Span<float> g, ReadOnlySpan<float> y, float reluSlope,
        ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, int rows, int c, Span<double> scratch)
    {
        Check(x.Length, rows, c, scratch.Length, 2 * c);
        var sumG = scratch[..c];
        var sumGx = scratch.Slice(c, c);
        sumG.Clear();
        sumGx.Clear();
        SumGradients(sumG, sumGx, g, y, reluSlope, x, mean, rows, c);
        for (int j = 0; j < c; j++)
        {
            dBeta[j] = (float)sumG[j];
            dGamma[j] = (float)(sumGx[j] * invStd[j]);
        }
    }

    /// <summary>
    /// sumG[c] += Σ_r g and sumGx[c] += Σ_r g·(x − μ) (the difference in float, the product and sums in double), rows
    /// in order. When <paramref name="reluSlope"/> is not NaN, g is first taken through a fused ReLU / leaky ReLU with
    /// that slope, g ← y &gt; 0 ? g : slope·g (from the activation's output y, as
    /// <see cref="DenseKernels.ActivationBackward(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, ActivationKind, float)"/>), and written back.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SumGradients(Span<double> sumG, Span<double> sumGx, Span<float> g, ReadOnlySpan<float> y, float reluSlope,
        ReadOnlySpan<float> x, ReadOnlySpan<float> mean, int rows, int c)
    {
        Check(x.Length, rows, c, Math.Min(Math.Min(sumG.Length, sumGx.Length), mean.Length), c);
        bool relu = !float.IsNaN(reluSlope);
        Check(g.Length, rows, c, relu ? y.Length : rows * c, rows * c);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float gr = ref MemoryMarshal.GetReference(g);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float mr = ref MemoryMarshal.GetReference(mean);
        ref double sr = ref MemoryMarshal.GetReference(sumG);
        ref double tr = ref MemoryMarshal.GetReference(sumGx);
        int w = Vector<float>.Count, half = Vector<double>.Count;
        bool vector = Vector.IsHardwareAccelerated;
        var vs = new Vector<float>(relu ? reluSlope : 0f);
        for (int r = 0; r < rows; r++)
        {
            int at = r * c, j = 0;
            if (vector)
                for (; j + w <= c; j += w)
                {
                    var gv = Vector.LoadUnsafe(ref gr, (nuint)(at + j));
                    if (relu)
                    {
                        gv = Vector.ConditionalSelect(Vector.GreaterThan(Vector.LoadUnsafe(ref yr, (nuint)(at + j)), Vector<float>.Zero),
                            gv, reluSlope == 0f ? Vector<float>.Zero : gv * vs);
                        gv.StoreUnsafe(ref gr, (nuint)(at + j));
                    }
                    var dv = Vector.LoadUnsafe(ref xr, (nuint)(at + j)) - Vector.LoadUnsafe(ref mr, (nuint)j);
                    Vector.Widen(gv, out var glo, out var ghi);
                    Vector.Widen(dv, out var dlo, out var dhi);
                    (Vector.LoadUnsafe(ref sr, (nuint)j) + glo).StoreUnsafe(ref sr, (nuint)j);
                    (Vector.LoadUnsafe(ref sr, (nuint)(j + half)) + ghi).StoreUnsafe(ref sr, (nuint)(j + half));
                    (Vector.LoadUnsafe(ref tr, (nuint)j) + glo * dlo).StoreUnsafe(ref tr, (nuint)j);
                    (Vector.LoadUnsafe(ref tr, (nuint)(j + half)) + ghi * dhi).StoreUnsafe(ref tr, (nuint)(j + half));
                }
            for (; j < c; j++)
            {
                float gi = g[at + j];
                if (relu)
                {
                    gi = y[at + j] > 0f ? gi : reluSlope == 0f ? 0f : reluSlope * gi;
                    g[at + j] = gi;
                }
                sumG[j] += gi;
                sumGx[j] += (double)gi * (x[at + j] - mean[j]);
            }
        }
    }

    /// <summary>
    /// ∂L/∂x with the batch's own statistics (see <see cref="BatchNormKernels.BackwardTraining(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int)"/>):
    /// <see cref="BackwardCoefficients"/> for the R rows, then <see cref="BackwardRows"/>. An empty γ means 1.
    /// <paramref name="scratch"/> holds at least 3·C floats.
    /// </summary>
    public static void BackwardTraining(Span<float> dx, ReadOnlySpan<float> g, ReadOnlySpan<float> x, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma, ReadOnlySpan<float> dGamma, ReadOnlySpan<float> dBeta,
        int rows, int c, Span<float> scratch)
    {
        BackwardCoefficients(scratch, invStd, gamma, dGamma, dBeta, rows, c);
        BackwardRows(dx, g, x, mean, scratch, rows, c);
    }

    /// <summary>
    /// The per-channel constants of dx = k·(g − dβ/M − s·(x − μ)) over M values per channel: coefficients[0..C) = k =
    /// γ·invStd, [C..2C) = dβ/M, [2C..3C) = s = invStd·dγ/M. An empty γ means 1.
    /// </summary>
    public static void BackwardCoefficients(Span<float> coefficients, ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma,
        ReadOnlySpan<float> dGamma, ReadOnlySpan<float> dBeta, int m, int c)
    {
        Check(coefficients.Length, 3, c, Math.Min(Math.Min(invStd.Length, dGamma.Length), dBeta.Length), c);
        float invM = 1f / m;
        for (int j = 0; j < c; j++)
        {
            coefficients[j] = (gamma.IsEmpty ? 1f : gamma[j]) * invStd[j];
            coefficients[c + j] = dBeta[j] * invM;
            coefficients[2 * c + j] = invStd[j] * dGamma[j] * invM;
        }
    }

    /// <summary>dx[r, c] = k[c]·(g[r, c] − (dβ/M)[c] − s[c]·(x[r, c] − μ[c])), with the <see cref="BackwardCoefficients"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardRows(Span<float> dx, ReadOnlySpan<float> g, ReadOnlySpan<float> x, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> coefficients, int rows, int c)
    {
        Check(x.Length, rows, c, Math.Min(coefficients.Length / 3, mean.Length), c);
        Check(g.Length, rows, c, dx.Length, rows * c);
        var k = coefficients[..c];
        var meanG = coefficients.Slice(c, c);
        var slope = coefficients.Slice(2 * c, c);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float gr = ref MemoryMarshal.GetReference(g);
        ref float dr = ref MemoryMarshal.GetReference(dx);
        ref float mr = ref MemoryMarshal.GetReference(mean);
        ref float kr = ref MemoryMarshal.GetReference(k);
        ref float er = ref MemoryMarshal.GetReference(meanG);
        ref float sr = ref MemoryMarshal.GetReference(slope);
        int w = Vector<float>.Count;
        bool vector = Vector.IsHardwareAccelerated;
        for (int r = 0; r < rows; r++)
        {
            int at = r * c, j = 0;
            if (vector)
                for (; j + w <= c; j += w)
                {
                    var gv = Vector.LoadUnsafe(ref gr, (nuint)(at + j));
                    var d = Vector.LoadUnsafe(ref xr, (nuint)(at + j)) - Vector.LoadUnsafe(ref mr, (nuint)j);
                    (Vector.LoadUnsafe(ref kr, (nuint)j) * (gv - Vector.LoadUnsafe(ref er, (nuint)j) - Vector.LoadUnsafe(ref sr, (nuint)j) * d))
                        .StoreUnsafe(ref dr, (nuint)(at + j));
                }
            for (; j < c; j++) dx[at + j] = k[j] * (g[at + j] - meanG[j] - slope[j] * (x[at + j] - mean[j]));
        }
    }

    // A span of [rows, c] values and a second span (per-channel values or scratch) of at least `need`.
    private static void Check(int have, int rows, int c, int otherHave, int need)
    {
        if (have < (long)rows * c || otherHave < need)
            throw new ArgumentException($"BatchNormRows: expected at least {(long)rows * c} values for [{rows}, {c}] and {need} beside them but got {have} and {otherHave}.");
    }
}
