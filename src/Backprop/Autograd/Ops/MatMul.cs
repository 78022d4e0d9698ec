using Backprop.Kernels;

namespace Backprop;

// Matrix product, the heart of a dense layer: H_in = X·W1 in the seeds' notation.
public sealed partial class Tensor
{
    /// <summary>
    /// Matrix product. Shapes: [m,k]·[k,n] → [m,n]; batched [b,m,k]·[b,k,n] → [b,m,n]; and [b,m,k]·[k,n] → [b,m,n]
    /// (the same right matrix for every batch entry).
    /// Backward: ∂L/∂A = G·Bᵀ, ∂L/∂B = Aᵀ·G (summed over the batch when B is shared).
    /// </summary>
    public Tensor MatMul(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var a = this;
        var b = other;
        int batch, m, k, n;
        bool sharedB;
        if (a.Rank == 2 && b.Rank == 2) { batch = 1; sharedB = true; (m, k) = (a.dims[0], a.dims[1]); n = b.dims[1]; }
        else if (a.Rank == 3 && b.Rank == 2) { batch = a.dims[0]; sharedB = true; (m, k) = (a.dims[1], a.dims[2]); n = b.dims[1]; }
        else if (a.Rank == 3 && b.Rank == 3)
        {
            batch = a.dims[0]; sharedB = false; (m, k) = (a.dims[1], a.dims[2]); n = b.dims[2];
            if (b.dims[0] != batch)
                throw new ShapeMismatchException($"matmul: {Shapes.Format(a.dims)} · {Shapes.Format(b.dims)}: batch sizes {batch} and {b.dims[0]} differ.");
        }
        else
            throw new ShapeMismatchException(
                $"matmul: {Shapes.Format(a.dims)} · {Shapes.Format(b.dims)}: expected [m,k]·[k,n], [b,m,k]·[b,k,n] or [b,m,k]·[k,n].");
        int bk = b.dims[^2];
        if (bk != k)
            throw new ShapeMismatchException($"matmul: {Shapes.Format(a.dims)} · {Shapes.Format(b.dims)}: inner dimensions {k} and {bk} differ.");

        var r = Empty(a.Rank == 2 ? [m, n] : [batch, m, n]);
        int bStride = sharedB ? 0 : k * n;
        for (int i = 0; i < batch; i++)
            Gemm.Multiply(r.data.AsSpan(i * m * n, m * n), a.data.AsSpan(i * m * k, m * k), b.data.AsSpan(i * bStride, k * n), m, n, k);

        return r.Record("matmul", [a, b], g =>
        {
            if (a.RequiresGrad)
            {
                var da = Empty(a.dims);   // dA[m,k] = G[m,n] · B[k,n]ᵀ
                for (int i = 0; i < batch; i++)
                    Gemm.Multiply(da.data.AsSpan(i * m * k, m * k), g.data.AsSpan(i * m * n, m * n), b.data.AsSpan(i * bStride, k * n),
                        m, k, n, transB: true);
                a.AccumulateOwnedGrad(da);
            }
            if (b.RequiresGrad)
            {
                var db = Empty(b.dims);   // dB[k,n] = A[m,k]ᵀ · G[m,n]
                for (int i = 0; i < batch; i++)
                    Gemm.Multiply(db.data.AsSpan(i * bStride, k * n), a.data.AsSpan(i * m * k, m * k), g.data.AsSpan(i * m * n, m * n),
                        k, n, m, transA: true, accumulate: sharedB);
                b.AccumulateOwnedGrad(db);
            }
        }, saved: [a, b]);
    }

    /// <summary>Matrix product <c>a · b</c>; see <see cref="MatMul(Tensor)"/>.</summary>
    public static Tensor MatMul(Tensor a, Tensor b) => a.MatMul(b);
}
