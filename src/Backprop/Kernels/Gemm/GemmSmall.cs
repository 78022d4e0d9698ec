using System.Numerics.Tensors;

namespace Backprop.Kernels;

/// <summary>
/// The GEMM path for products with so few rows that packing B would cost more than the product itself (a batch of
/// one through a dense layer: [1,784]·[784,256]); row-at-a-time SIMD through <see cref="TensorPrimitives"/>.
/// </summary>
internal static class GemmSmall
{
    /// <summary>
    /// C (+)= op(A)·op(B) for few rows m, each B row read once: without transB, C[i,:] += A(i,p)·B[p,:] for p outer
    /// (the m rows of C stay in L1); with transB, C[i,j] += A[i,:]·B[j,:] for j outer. Not for transA and transB together.
    /// </summary>
    public static void Skinny(Span<float> c, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int m, int n, int k,
        bool transA, bool transB, bool accumulate)
    {
        int rsA = transA ? 1 : k, csA = transA ? m : 1;
        if (!transB)
        {
            if (!accumulate) c[..(m * n)].Clear();
            for (int p = 0; p < k; p++)
            {
                var bp = b.Slice(p * n, n);
                for (int i = 0; i < m; i++)
                {
                    var ci = c.Slice(i * n, n);
                    TensorPrimitives.MultiplyAdd(bp, a[i * rsA + p * csA], ci, ci);
                }
            }
            return;
        }

        // transB (so A is not transposed): B stored [n,k], rows of A and B are both contiguous.
        for (int j = 0; j < n; j++)
        {
            var bj = b.Slice(j * k, k);
            for (int i = 0; i < m; i++)
            {
                float s = TensorPrimitives.Dot(a.Slice(i * k, k), bj);
                c[i * n + j] = accumulate ? c[i * n + j] + s : s;
            }
        }
    }
}
