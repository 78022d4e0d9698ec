using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// Backward of the fused dense step <c>Y = act(X·W + b)</c>, for X [batch, in], W [in, out], b [out]:
/// <code>
/// dZ = dY ⊙ act'(·)          from the saved output Y (relu: Y &gt; 0; sigmoid: Y(1−Y); tanh: 1−Y²)
/// dW = Xᵀ·dZ                  [in, out]   GEMM with A transposed in place (no transposed copy)
/// db = Σ_rows dZ              [out]
/// dX = dZ·Wᵀ                  [batch, in] GEMM with B transposed in place
/// </code>
/// </summary>
internal static partial class DenseKernels
{
    /// <summary>
    /// dz[rows, cols] = dy ⊙ act'(z), with act' written in terms of the activation's output y (which is what the
    /// forward pass keeps). <paramref name="dz"/> may be the same span as <paramref name="dy"/>.
    /// </summary>
    public static void ActivationBackward(Span<float> dz, ReadOnlySpan<float> dy, ReadOnlySpan<float> y,
        int count, ActivationKind act, float slope) =>
        ActivationBackward(dz, dy, y, count, act, slope, Simd.Width);

    /// <summary><see cref="ActivationBackward(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, ActivationKind, float)"/> at a given width.</summary>
    internal static void ActivationBackward(Span<float> dz, ReadOnlySpan<float> dy, ReadOnlySpan<float> y,
        int count, ActivationKind act, float slope, SimdWidth width)
    {
        dz = dz[..count];
        dy = dy[..count];
        y = y[..count];
        switch (act)
        {
            case ActivationKind.Identity:
                if (!Unsafe.AreSame(ref MemoryMarshal.GetReference(dz), ref MemoryMarshal.GetReference(dy))) dy.CopyTo(dz);
                return;
            case ActivationKind.Relu:
                ReluBackward(dz, dy, y, 0f, width);
                return;
            case ActivationKind.LeakyRelu:
                ReluBackward(dz, dy, y, slope, width);
                return;
            case ActivationKind.Sigmoid:
                SimdDriver.Map<SigmoidBackwardOperator>(dz, dy, y, width);
                return;
            case ActivationKind.Tanh:
                SimdDriver.Map<TanhBackwardOperator>(dz, dy, y, width);
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(act), act, "this activation has no element-wise backward (softmax is fused with the loss).");
        }
    }

    /// <summary>
    /// dz = y &gt; 0 ? dy : slope·dy (slope 0: +0). For slope ≥ 0, y &gt; 0 exactly when the pre-activation z &gt; 0,
    /// so this is the same mask the autograd ReLU uses.
    /// </summary>
    internal static void ReluBackward(Span<float> dz, ReadOnlySpan<float> dy, ReadOnlySpan<float> y, float slope, SimdWidth width)
    {
        if (slope == 0f) SimdDriver.Map<ReluBackwardOperator>(dz, dy, y, width);
        else SimdDriver.Map<LeakyReluBackwardOperator>(dz, dy, y, slope, width);
    }

    /// <summary>db[cols] = Σ_r dz[r, cols] (overwrites db), or db += Σ_r dz[r, cols] when <paramref name="accumulate"/>.</summary>
    public static void BiasGradient(Span<float> db, ReadOnlySpan<float> dz, int rows, int cols, bool accumulate = false) =>
        BiasGradient(db, dz, rows, cols, accumulate, Simd.Width);

    /// <summary>
    /// <see cref="BiasGradient(Span{float}, ReadOnlySpan{float}, int, int, bool)"/> at a given width. Each column is
    /// summed from 0 down the rows in order, then added to db when accumulating, at every width: blocks of up to four
    /// vectors of columns keep their sums in registers over all rows (a convolution's dZ has thousands of narrow rows,
    /// where a call per row would cost more than its adds), then narrower vectors and single columns take the rest.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void BiasGradient(Span<float> db, ReadOnlySpan<float> dz, int rows, int cols, bool accumulate, SimdWidth width)
    {
        if (rows < 0 || cols < 0 || db.Length < cols || dz.Length < (long)rows * cols)
            throw new ArgumentException($"DenseKernels.BiasGradient: expected db ≥ {cols} and dz ≥ {(long)rows * cols} values for rows={rows}, cols={cols}, but got db {db.Length}, dz {dz.Length}.");
        db = db[..cols];
        if (rows == 0)
        {
            if (!accumulate) db.Clear();
            return;
        }
        ref float o = ref MemoryMarshal.GetReference(db);
        ref float d = ref MemoryMarshal.GetReference(dz);
        int j = 0;
        if (width >= SimdWidth.Vector512) j = ColumnSums512(ref o, ref d, rows, cols, j, accumulate);
        if (width >= SimdWidth.Vector256) j = ColumnSums256(ref o, ref d, rows, cols, j, accumulate);
        if (width >= SimdWidth.Vector128) j = ColumnSums128(ref o, ref d, rows, cols, j, accumulate);
        for (; j + 4 <= cols; j += 4)
        {
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
            for (int r = 0; r < rows; r++)
            {
                var row = dz.Slice(r * cols + j, 4);
                s0 += row[0];
                s1 += row[1];
                s2 += row[2];
                s3 += row[3];
            }
            db[j] = accumulate ? db[j] + s0 : s0;
            db[j + 1] = accumulate ? db[j + 1] + s1 : s1;
            db[j + 2] = accumulate ? db[j + 2] + s2 : s2;
            db[j + 3] = accumulate ? db[j + 3] + s3 : s3;
        }
        for (; j < cols; j++)
        {
            float s = 0f;
            for (int r = 0; r < rows; r++) s += dz[r * cols + j];
            db[j] = accumulate ? db[j] + s : s;
        }
    }

    // Column sums of columns [j, cols) in passes of up to four Vector512s, each summed in its own register down the
    // rows; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ColumnSums512(ref float o, ref float d, int rows, int cols, int j, bool accumulate)
    {
        const int L = 16;
        while (j + L <= cols)
        {
            int blocks = Math.Min(4, (cols - j) / L);
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int r = 0; r < rows; r++)
            {
                ref float at = ref Unsafe.Add(ref d, (nint)r * cols + j);
                a0 += Vector512.LoadUnsafe(ref at);
                if (blocks > 1) a1 += Vector512.LoadUnsafe(ref at, L);
                if (blocks > 2) a2 += Vector512.LoadUnsafe(ref at, 2 * L);
                if (blocks > 3) a3 += Vector512.LoadUnsafe(ref at, 3 * L);
            }
            ref float oj = ref Unsafe.Add(ref o, j);
            (accumulate ? Vector512.LoadUnsafe(ref oj) + a0 : a0).StoreUnsafe(ref oj);
            if (blocks > 1) (accumulate ? Vector512.LoadUnsafe(ref oj, L) + a1 : a1).StoreUnsafe(ref oj, L);
            if (blocks > 2) (accumulate ? Vector512.LoadUnsafe(ref oj, 2 * L) + a2 : a2).StoreUnsafe(ref oj, 2 * L);
            if (blocks > 3) (accumulate ? Vector512.LoadUnsafe(ref oj, 3 * L) + a3 : a3).StoreUnsafe(ref oj, 3 * L);
            j += blocks * L;
        }
        return j;
    }

    // Column sums of columns [j, cols) in passes of up to four Vector256s, each summed in its own register down the
    // rows; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ColumnSums256(ref float o, ref float d, int rows, int cols, int j, bool accumulate)
    {
        const int L = 8;
        while (j + L <= cols)
        {
            int blocks = Math.Min(4, (cols - j) / L);
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int r = 0; r < rows; r++)
            {
                ref float at = ref Unsafe.Add(ref d, (nint)r * cols + j);
                a0 += Vector256.LoadUnsafe(ref at);
                if (blocks > 1) a1 += Vector256.LoadUnsafe(ref at, L);
                if (blocks > 2) a2 += Vector256.LoadUnsafe(ref at, 2 * L);
                if (blocks > 3) a3 += Vector256.LoadUnsafe(ref at, 3 * L);
            }
            ref float oj = ref Unsafe.Add(ref o, j);
            (accumulate ? Vector256.LoadUnsafe(ref oj) + a0 : a0).StoreUnsafe(ref oj);
            if (blocks > 1) (accumulate ? Vector256.LoadUnsafe(ref oj, L) + a1 : a1).StoreUnsafe(ref oj, L);
            if (blocks > 2) (accumulate ? Vector256.LoadUnsafe(ref oj, 2 * L) + a2 : a2).StoreUnsafe(ref oj, 2 * L);
            if (blocks > 3) (accumulate ? Vector256.LoadUnsafe(ref oj, 3 * L) + a3 : a3).StoreUnsafe(ref oj, 3 * L);
            j += blocks * L;
        }
        return j;
    }

    // Column sums of columns [j, cols) in passes of up to four Vector128s, each summed in its own register down the
    // rows; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ColumnSums128(ref float o, ref float d, int rows, int cols, int j, bool accumulate)
    {
        const int L = 4;
        while (j + L <= cols)
        {
            int blocks = Math.Min(4, (cols - j) / L);
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int r = 0; r < rows; r++)
            {
                ref float at = ref Unsafe.Add(ref d, (nint)r * cols + j);
                a0 += Vector128.LoadUnsafe(ref at);
                if (blocks > 1) a1 += Vector128.LoadUnsafe(ref at, L);
                if (blocks > 2) a2 += Vector128.LoadUnsafe(ref at, 2 * L);
                if (blocks > 3) a3 += Vector128.LoadUnsafe(ref at, 3 * L);
            }
            ref float oj = ref Unsafe.Add(ref o, j);
            (accumulate ? Vector128.LoadUnsafe(ref oj) + a0 : a0).StoreUnsafe(ref oj);
            if (blocks > 1) (accumulate ? Vector128.LoadUnsafe(ref oj, L) + a1 : a1).StoreUnsafe(ref oj, L);
            if (blocks > 2) (accumulate ? Vector128.LoadUnsafe(ref oj, 2 * L) + a2 : a2).StoreUnsafe(ref oj, 2 * L);
            if (blocks > 3) (accumulate ? Vector128.LoadUnsafe(ref oj, 3 * L) + a3 : a3).StoreUnsafe(ref oj, 3 * L);
            j += blocks * L;
        }
        return j;
    }

    /// <summary>
    /// Given dz [batch, out] (the gradient at the pre-activation), writes dW = xᵀ·dz (when <paramref name="dw"/> is
    /// not empty), db = Σ_rows dz (when <paramref name="db"/> is not empty) and, when <paramref name="dx"/> is not
    /// empty, dx = dz·Wᵀ. dW and db are overwritten, or added to when <paramref name="accumulateW"/> /
    /// <paramref name="accumulateB"/> (a layer used twice sums its uses); dx is overwritten.
    /// </summary>
    public static void Backward(Span<float> dw, Span<float> db, Span<float> dx, ReadOnlySpan<float> dz,
        ReadOnlySpan<float> x, ReadOnlySpan<float> w, int batch, int inFeatures, int outFeatures,
        bool accumulateW = false, bool accumulateB = false)
    {
        if (!dw.IsEmpty) Gemm.Multiply(dw, x, dz, inFeatures, outFeatures, batch, transA: true, accumulate: accumulateW);
        if (!db.IsEmpty) BiasGradient(db, dz, batch, outFeatures, accumulateB);
        if (!dx.IsEmpty) Gemm.Multiply(dx, dz, w, batch, inFeatures, outFeatures, transB: true);
    }

    /// <summary>
    /// The values [<paramref name="start"/>, <paramref name="end"/>) of dW = Xᵀ·dZ, flattened [in, out], from
    /// <paramref name="rows"/> factor rows: row p is [x_p (in) | dz_p (out)] at <paramref name="factors"/>[p·stride],
    /// so dW[i, j] = Σ_p x_p[i]·dz_p[j]. Data-parallel ranks that share their rows' factors each form their own part of
    /// the weight gradient this way. Other values of <paramref name="dw"/> are left alone.
    /// </summary>
    internal static unsafe void WeightGradientSlice(Span<float> dw, ReadOnlySpan<float> factors, int stride, int rows,
        int inFeatures, int outFeatures, int start, int end)
    {
        if (inFeatures < 1 || outFeatures < 1 || rows < 1 || stride < inFeatures + outFeatures
            || factors.Length < (long)(rows - 1) * stride + inFeatures + outFeatures || dw.Length < (long)inFeatures * outFeatures
            || start < 0 || end < start || end > inFeatures * outFeatures)
            throw new ArgumentException(
                $"DenseKernels.WeightGradientSlice: expected {rows} factor rows of {inFeatures} + {outFeatures} values, {stride} apart, " +
                $"dW of {(long)inFeatures * outFeatures} values and 0 ≤ start ≤ end ≤ {(long)inFeatures * outFeatures}, " +
                $"but got {factors.Length} factor values, dW of {dw.Length}, [{start}, {end}).");
        if (start == end) return;
        int firstRow = start / outFeatures, lastRow = (end - 1) / outFeatures;   // rows of dW that hold a value of the slice
        int fullFrom = start % outFeatures == 0 ? firstRow : firstRow + 1, fullTo = end % outFeatures == 0 ? lastRow + 1 : lastRow;
        fixed (float* pw = dw, pf = factors)
            if (fullTo > fullFrom) FactorRows(pw + (long)fullFrom * outFeatures, pf, stride, rows, inFeatures, outFeatures, fullFrom, fullTo - fullFrom);
        // A row the slice covers only in part (at either end) is formed whole aside and the covered part copied.
        bool firstInPart = firstRow < fullFrom;
        if (firstInPart) PartOfRow(dw, factors, stride, rows, inFeatures, outFeatures, firstRow, start, end);
        if (lastRow >= fullTo && !(lastRow == firstRow && firstInPart)) PartOfRow(dw, factors, stride, rows, inFeatures, outFeatures, lastRow, start, end);
    }

    // dW rows [i0, i0 + m) into c: (columns [i0, i0 + m) of X)ᵀ·dZ, with X's columns and dZ read in place from the factor rows.
    private static unsafe void FactorRows(float* c, float* factors, int stride, int rows, int inFeatures, int outFeatures, int i0, int m) =>
        Gemm.Strided(Gemm.Variant, Gemm.MaxThreads, c, outFeatures, factors + i0, 1, stride, factors + inFeatures, stride, 1, m, outFeatures, rows, accumulate: false);

    // The values of dW's row `row` that fall in [start, end).
    private static unsafe void PartOfRow(Span<float> dw, ReadOnlySpan<float> factors, int stride, int rows, int inFeatures, int outFeatures,
        int row, int start, int end)
    {
        var whole = System.Buffers.ArrayPool<float>.Shared.Rent(outFeatures);
        fixed (float* pr = whole, pf = factors) FactorRows(pr, pf, stride, rows, inFeatures, outFeatures, row, 1);
        int from = Math.Max(start, row * outFeatures), to = Math.Min(end, (row + 1) * outFeatures);
        whole.AsSpan(from - row * outFeatures, to - from).CopyTo(dw[from..to]);
        System.Buffers.ArrayPool<float>.Shared.Return(whole);
    }
}
