using System.Diagnostics;

namespace Backprop.Kernels;

/// <summary>Measures GEMM throughput; used by the benchmark project and the <c>backprop bench</c> command.</summary>
public static class GemmBenchmark
{
    /// <summary>
    /// GFLOP/s (2n³ / seconds) of C[n,n] = A[n,n]·B[n,n] with the given variant and thread count: one warm-up call,
    /// then repeated calls for about <paramref name="seconds"/> (at least three), reporting the fastest call.
    /// </summary>
    public static double Measure(int n, int threads, GemmVariant variant, double seconds = 0.25) =>
        Measure(n, n, n, transA: false, transB: false, threads, variant, seconds);

    /// <summary>
    /// GFLOP/s (2mnk / seconds) of C[m,n] = op(A)·op(B) with A or B transposed as asked, measured as
    /// <see cref="Measure(int, int, GemmVariant, double)"/> is.
    /// </summary>
    public static double Measure(int m, int n, int k, bool transA, bool transB, int threads, GemmVariant variant, double seconds = 0.25)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(m, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        var rng = new Random(1234);
        var a = new float[m * k];
        var b = new float[k * n];
        var c = new float[m * n];
        for (int i = 0; i < a.Length; i++) a[i] = rng.NextSingle();
        for (int i = 0; i < b.Length; i++) b[i] = rng.NextSingle();

        Gemm.Multiply(variant, threads, c, a, b, m, n, k, transA, transB, false);
        double best = double.MaxValue;
        var total = Stopwatch.StartNew();
        for (int rep = 0; rep < 3 || total.Elapsed.TotalSeconds < seconds; rep++)
        {
            long t0 = Stopwatch.GetTimestamp();
            Gemm.Multiply(variant, threads, c, a, b, m, n, k, transA, transB, false);
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }
        return 2.0 * m * n * k / best / 1e9;
    }
}
