using System.Numerics.Tensors;
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ActivationBackward(Span<float> dz, ReadOnlySpan<float> dy, ReadOnlySpan<float> y,
        int count, ActivationKind act, float slope)
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
                ReluBackward(dz, dy, y, 0f);
                return;
            case ActivationKind.LeakyRelu:
                ReluBackward(dz, dy, y, slope);
                return;
            case ActivationKind.Sigmoid:
                // σ' = y(1 − y)
                for (int i = 0; i < count; i++) dz[i] = dy[i] * (y[i] * (1f - y[i]));
                return;
            case ActivationKind.Tanh:
                // tanh' = 1 − y²
                for (int i = 0; i < count; i++) dz[i] = dy[i] * (1f - y[i] * y[i]);
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(act), act, "this activation has no element-wise backward (softmax is fused with the loss).");
        }
    }

    /// <summary>
    /// dz = y &gt; 0 ? dy : slope·dy. For slope ≥ 0, y &gt; 0 exactly when the pre-activation z &gt; 0, so this is
    /// the same mask the autograd ReLU uses. Vector512 lanes, scalar tail and twin.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ReluBackward(Span<float> dz, ReadOnlySpan<float> dy, ReadOnlySpan<float> y, float slope)
    {
        int i = 0, n = dz.Length;
        if (UseVector512)
        {
            ref float d = ref MemoryMarshal.GetReference(dz);
            ref float g = ref MemoryMarshal.GetReference(dy);
            ref float o = ref MemoryMarshal.GetReference(y);
            var vs = Vector512.Create(slope);
            for (; i + Lanes <= n; i += Lanes)
            {
                var gi = Vector512.LoadUnsafe(ref g, (nuint)i);
                var neg = slope == 0f ? Vector512<float>.Zero : gi * vs;
                Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.LoadUnsafe(ref o, (nuint)i), Vector512<float>.Zero), gi, neg)
                    .StoreUnsafe(ref d, (nuint)i);
            }
        }
        for (; i < n; i++) dz[i] = y[i] > 0f ? dy[i] : slope == 0f ? 0f : slope * dy[i];
    }

    /// <summary>db[cols] = Σ_r dz[r, cols] (overwrites db), or db += Σ_r dz[r, cols] when <paramref name="accumulate"/>.</summary>
    /// <remarks>
    /// Rows of whole Vector512s up to 64 wide are summed in registers over all rows (a convolution's dZ has
    /// thousands of narrow rows, where a call per row would cost more than its adds); the sums run in the same order,
    /// row by row, either way (from zero: the first row is added to 0, which is exact).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BiasGradient(Span<float> db, ReadOnlySpan<float> dz, int rows, int cols, bool accumulate = false)
    {
        db = db[..cols];
        if (rows == 0)
        {
            if (!accumulate) db.Clear();
            return;
        }
        if (UseVector512 && cols % Lanes == 0 && cols <= 4 * Lanes)
        {
            // Up to four column blocks, each summed in its own register down the rows.
            int blocks = cols / Lanes;
            ref float d = ref MemoryMarshal.GetReference(dz);
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int r = 0; r < rows; r++)
            {
                nuint at = (nuint)(r * cols);
                a0 += Vector512.LoadUnsafe(ref d, at);
                if (blocks > 1) a1 += Vector512.LoadUnsafe(ref d, at + Lanes);
                if (blocks > 2) a2 += Vector512.LoadUnsafe(ref d, at + 2 * Lanes);
                if (blocks > 3) a3 += Vector512.LoadUnsafe(ref d, at + 3 * Lanes);
            }
            ref float o = ref MemoryMarshal.GetReference(db);
            Span<Vector512<float>> sums = [a0, a1, a2, a3];
            for (int v = 0; v < blocks; v++)
            {
                var sum = accumulate ? Vector512.LoadUnsafe(ref o, (nuint)(v * Lanes)) + sums[v] : sums[v];
                sum.StoreUnsafe(ref o, (nuint)(v * Lanes));
            }
            return;
        }
        if (accumulate)
        {
            for (int r = 0; r < rows; r++) TensorPrimitives.Add(db, dz.Slice(r * cols, cols), db);
            return;
        }
        dz[..cols].CopyTo(db);
        for (int r = 1; r < rows; r++) TensorPrimitives.Add(db, dz.Slice(r * cols, cols), db);
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
}
