using System.Numerics.Tensors;

namespace Backprop.Kernels;

/// <summary>
/// Single-precision matrix multiply on row-major spans: <c>C[m,n] (+)= op(A)[m,k] · op(B)[k,n]</c>.
/// Knows nothing of tensors or autograd.
/// </summary>
/// <remarks>
/// <c>transA</c>: A is stored as [k,m] and read as its transpose; <c>transB</c>: B is stored as [n,k]. Backward passes
/// use these flags (dA = dC·Bᵀ, dB = Aᵀ·dC) so that no transpose is ever materialised.
/// </remarks>
public static class Gemm
{
    /// <summary>C[m,n] = op(A)·op(B), or C += op(A)·op(B) when <paramref name="accumulate"/> is true.</summary>
    public static void Multiply(Span<float> c, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int m, int n, int k,
        bool transA = false, bool transB = false, bool accumulate = false)
    {
        if (a.Length < m * k || b.Length < k * n || c.Length < m * n)
            throw new ArgumentException($"Gemm: spans too short for m={m}, n={n}, k={k} (A {a.Length}, B {b.Length}, C {c.Length}).");
        if (!accumulate) c[..(m * n)].Clear();
        if (m == 0 || n == 0 || k == 0) return;

        if (!transA && !transB)
        {
            // C[i,:] += A[i,p] · B[p,:]  (streams rows of B: unit stride everywhere)
            for (int i = 0; i < m; i++)
            {
                var ci = c.Slice(i * n, n);
                for (int p = 0; p < k; p++)
                {
                    float aip = a[i * k + p];
                    if (aip != 0f) TensorPrimitives.MultiplyAdd(b.Slice(p * n, n), aip, ci, ci);
                }
            }
        }
        else if (!transA)
        {
            // C[i,j] += A[i,:] · B[j,:]  (B stored [n,k])
            for (int i = 0; i < m; i++)
            {
                var ai = a.Slice(i * k, k);
                for (int j = 0; j < n; j++) c[i * n + j] += TensorPrimitives.Dot(ai, b.Slice(j * k, k));
            }
        }
        else if (!transB)
        {
            // C[i,:] += A[p,i] · B[p,:]  (A stored [k,m])
            for (int p = 0; p < k; p++)
            {
                var bp = b.Slice(p * n, n);
                for (int i = 0; i < m; i++)
                {
                    float api = a[p * m + i];
                    if (api != 0f) TensorPrimitives.MultiplyAdd(bp, api, c.Slice(i * n, n), c.Slice(i * n, n));
                }
            }
        }
        else
        {
            // C[i,j] += Σ_p A[p,i] · B[j,p]
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    float s = 0f;
                    for (int p = 0; p < k; p++) s += a[p * m + i] * b[j * k + p];
                    c[i * n + j] += s;
                }
        }
    }
}
