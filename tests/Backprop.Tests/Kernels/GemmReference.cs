using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>Random operands and a double-precision reference for GEMM tests.</summary>
internal static class GemmReference
{
    /// <summary>Uniform values in [−1, 1) from a fixed seed.</summary>
    public static float[] Random(int length, int seed)
    {
        var rng = new Random(seed);
        var x = new float[length];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle() * 2f - 1f;
        return x;
    }

    /// <summary>C0 (when accumulating) + op(A)·op(B), summed in double.</summary>
    public static double[] Multiply(float[] c0, float[] a, float[] b, int m, int n, int k, bool transA, bool transB, bool accumulate)
    {
        var r = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = accumulate ? c0[i * n + j] : 0.0;
                for (int p = 0; p < k; p++)
                    s += (double)a[transA ? p * m + i : i * k + p] * b[transB ? j * k + p : p * n + j];
                r[i * n + j] = s;
            }
        return r;
    }

    /// <summary>
    /// Asserts |c − ref| ≤ 1e-5·√k·(1 + |ref|) elementwise: float rounding grows like √k for sums of k products of
    /// values in [−1, 1]; the 1 covers entries near zero after cancellation. One missing or doubled product would
    /// be off by ~0.1 or more.
    /// </summary>
    public static void AssertClose(double[] expected, float[] actual, int k, string what)
    {
        double tol = 1e-5 * Math.Sqrt(Math.Max(k, 1));
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            if (!(err <= tol * (1 + Math.Abs(expected[i]))))
                Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]} (error {err:E2}, tolerance {tol * (1 + Math.Abs(expected[i])):E2}).");
        }
    }

    /// <summary>The variants the hardware runs here; the scalar one always.</summary>
    public static IEnumerable<GemmVariant> Variants => GemmSelector.Supported;
}
