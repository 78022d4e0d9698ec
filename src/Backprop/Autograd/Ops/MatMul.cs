using Backprop.Kernels;

namespace Backprop;

// Matrix product, the heart of a dense layer: H_in = X·W1 in the seeds' notation.
public sealed partial class Tensor
{
    /// <summary>
    /// Matrix product. Shapes: [m,k]·[k,n] → [m,n]; batched [b,m,k]·[b,k,n] → [b,m,n]; and [b,m,k]·[k,n] → [b,m,n]
    /// (the same right matrix for every batch entry). As in PyTorch, a 1-D left operand is a row ([k] → [1,k]) and a
    /// 1-D right operand a column ([k] → [k,1]), the added dimension removed from the result ([k]·[k] is a scalar),
    /// and batch dimensions broadcast ([2,1,m,k]·[5,k,n] → [2,5,m,n]; a shared [k, n] is not copied).
    /// Backward: ∂L/∂A = G·Bᵀ, ∂L/∂B = Aᵀ·G (summed over the batch when B is shared).
    /// </summary>
    public Tensor MatMul(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (Rank == 1 || other.Rank == 1) return MatMulVectors(other);
        if (Rank > 3 || other.Rank > 3 || (other.Rank == 3 && (Rank == 2 || dims[0] != other.dims[0]))) return MatMulBatches(other);
        var a = this;
        var b = other;
        int batch, m, k, n;
        bool sharedB;
        if (a.Rank == 2 && b.Rank == 2) { batch = 1; sharedB = true; (m, k) = (a.dims[0], a.dims[1]); n = b.dims[1]; }
        else if (a.Rank == 3 && b.Rank == 2) { batch = a.dims[0]; sharedB = true; (m, k) = (a.dims[1], a.dims[2]); n = b.dims[1]; }
        else if (a.Rank == 3 && b.Rank == 3)
        {
            // Different batch sizes were broadcast (or refused) by MatMulBatches before this point.
            batch = a.dims[0]; sharedB = false; (m, k) = (a.dims[1], a.dims[2]); n = b.dims[2];
        }
        else
            throw new ShapeMismatchException(
                $"matmul: {Shapes.Format(a.dims)} · {Shapes.Format(b.dims)}: expected [m,k]·[k,n], [b,m,k]·[b,k,n] or [b,m,k]·[k,n].");
        int bk = b.dims[^2];
        if (bk != k)
            throw new ShapeMismatchException($"matmul: {Shapes.Format(a.dims)} · {Shapes.Format(b.dims)}: inner dimensions {k} and {bk} differ.");

        var r = Empty(a.Rank == 2 ? Shapes.Interned([m, n]) : Shapes.Interned([batch, m, n]));
        int bStride = sharedB ? 0 : k * n;
        for (int i = 0; i < batch; i++)
            Gemm.Multiply(r.data.AsSpan(i * m * n, m * n), a.data.AsSpan(i * m * k, m * k), b.data.AsSpan(i * bStride, k * n), m, n, k);
        if (r.Record("matmul", MatMulBackward, a, b, saves: Saves.Input0 | Saves.Input1) is { } node)
            (node.I0, node.I1, node.I2, node.I3) = (batch, m, k, sharedB ? -n : n);
        return r;
    }

    // Inputs A [batch, m, k] and B [batch or shared, k, n]; I3 is −n when B is shared by the batch.
    private static readonly GradNode.StaticBackward MatMulBackward = static (node, g) =>
    {
        var (a, b) = (node.Inputs[0], node.Inputs[1]);
        int batch = node.I0, m = node.I1, k = node.I2, n = Math.Abs(node.I3);
        bool sharedB = node.I3 < 0;
        int bStride = sharedB ? 0 : k * n;
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
    };

    // A 1-D operand as a row (left) or column (right) matrix; the added dimension is removed from the result.
    private Tensor MatMulVectors(Tensor other)
    {
        if (Rank == 0 || other.Rank == 0)
            throw new ShapeMismatchException($"matmul: {Shapes.Format(dims)} · {Shapes.Format(other.dims)}: a scalar has no matrix product; use *.");
        var a = Rank == 1 ? Unsqueeze(0) : this;
        var b = other.Rank == 1 ? other.Unsqueeze(1) : other;
        var r = a.MatMul(b);
        if (other.Rank == 1) r = r.Squeeze(-1);
        if (Rank == 1) r = r.Squeeze(r.Rank == 1 && other.Rank == 1 ? 0 : -2);
        return r;
    }

    // [..., m, k]·[..., k, n]: batch dimensions broadcast as PyTorch's (each operand expanded to the common batch
    // shape, so a broadcast operand's gradient sums over its copies), or ·[k, n] shared; flattened to one batch
    // dimension and back.
    private Tensor MatMulBatches(Tensor other)
    {
        var batchDims = dims[..^2];
        bool shared = other.Rank == 2;
        if (!shared && !Shapes.Equal(batchDims, other.dims[..^2]))
        {
            var common = Shapes.Broadcast(batchDims, other.dims[..^2], $"matmul {Shapes.Format(dims)} · {Shapes.Format(other.dims)} batch dimensions");
            var left = Shapes.Equal(batchDims, common) ? this : Expand([.. common, dims[^2], dims[^1]]);
            var right = Shapes.Equal(other.dims[..^2], common) ? other : other.Expand([.. common, other.dims[^2], other.dims[^1]]);
            return left.MatMulBatches(right);
        }
        int batch = Shapes.Size(batchDims);
        var a = Reshape(batch, dims[^2], dims[^1]);
        var b = shared ? other : other.Reshape(batch, other.dims[^2], other.dims[^1]);
        var r = a.MatMul(b);
        return r.Reshape([.. batchDims, r.dims[^2], r.dims[^1]]);
    }

    /// <summary>Matrix product <c>a · b</c>; see <see cref="MatMul(Tensor)"/>.</summary>
    public static Tensor MatMul(Tensor a, Tensor b) => a.MatMul(b);
}
