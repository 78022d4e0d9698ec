using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// The per-width loops of BatchNormRows' sums and backward: the same code at 512, 256 and 128 bits. The sums keep
// their double accumulators in registers down all the rows of a block of columns, each lane adding the rows in order,
// so every width gives the scalar loop's bits.
internal static partial class BatchNormRows
{
    // The spans of SumGradients, by reference, so the per-width loops take one argument.
    private readonly ref struct GradientRefs(ref double sumG, ref double sumGx, ref float g, ref float y, ref float x, ref float mean,
        int rows, int c, bool relu, float slope)
    {
        public readonly ref double SumG = ref sumG;
        public readonly ref double SumGx = ref sumGx;
        public readonly ref float G = ref g;
        public readonly ref float Y = ref y;
        public readonly ref float X = ref x;
        public readonly ref float Mean = ref mean;
        public readonly int Rows = rows;
        public readonly int C = c;
        public readonly bool Relu = relu;
        public readonly float Slope = slope;
    }

    // The spans of BackwardRows, by reference: dx, g and x [rows, C]; μ, k, dβ/M and s [C].
    private readonly ref struct BackwardRefs(ref float dx, ref float g, ref float x, ref float mean, ref float k, ref float meanG, ref float slope)
    {
        public readonly ref float Dx = ref dx;
        public readonly ref float G = ref g;
        public readonly ref float X = ref x;
        public readonly ref float Mean = ref mean;
        public readonly ref float K = ref k;
        public readonly ref float MeanG = ref meanG;
        public readonly ref float Slope = ref slope;
    }

    // Column sums of columns [j, c) at 512 bits, one or two float vectors of columns at a time (two or four double
    // accumulators) summed down every row; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SumColumns512(ref double s, ref float x, int rows, int c, int j)
    {
        const int L = 16, H = L / 2;
        while (j + L <= c)
        {
            bool two = j + 2 * L <= c;
            ref double sj = ref Unsafe.Add(ref s, j);
            Vector512<double> a0 = Vector512.LoadUnsafe(ref sj), a1 = Vector512.LoadUnsafe(ref sj, H), a2 = default, a3 = default;
            if (two) (a2, a3) = (Vector512.LoadUnsafe(ref sj, 2 * H), Vector512.LoadUnsafe(ref sj, 3 * H));
            for (int r = 0; r < rows; r++)
            {
                ref float at = ref Unsafe.Add(ref x, (nint)r * c + j);
                var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref at));
                a0 += lo;
                a1 += hi;
                if (two)
                {
                    (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref at, L));
                    a2 += lo;
                    a3 += hi;
                }
            }
            a0.StoreUnsafe(ref sj);
            a1.StoreUnsafe(ref sj, H);
            if (two)
            {
                a2.StoreUnsafe(ref sj, 2 * H);
                a3.StoreUnsafe(ref sj, 3 * H);
            }
            j += two ? 2 * L : L;
        }
        return j;
    }

    // Σ (x − μ)² of columns [j, c) at 512 bits, blocked as SumColumns512.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SumSquaredDeviations512(ref double q, ref float x, ref double mu, int rows, int c, int j)
    {
        const int L = 16, H = L / 2;
        while (j + L <= c)
        {
            bool two = j + 2 * L <= c;
            ref double qj = ref Unsafe.Add(ref q, j);
            ref double mj = ref Unsafe.Add(ref mu, j);
            Vector512<double> a0 = Vector512.LoadUnsafe(ref qj), a1 = Vector512.LoadUnsafe(ref qj, H), a2 = default, a3 = default;
            Vector512<double> m0 = Vector512.LoadUnsafe(ref mj), m1 = Vector512.LoadUnsafe(ref mj, H), m2 = default, m3 = default;
            if (two)
            {
                (a2, a3) = (Vector512.LoadUnsafe(ref qj, 2 * H), Vector512.LoadUnsafe(ref qj, 3 * H));
                (m2, m3) = (Vector512.LoadUnsafe(ref mj, 2 * H), Vector512.LoadUnsafe(ref mj, 3 * H));
            }
            for (int r = 0; r < rows; r++)
            {
                ref float at = ref Unsafe.Add(ref x, (nint)r * c + j);
                var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref at));
                lo -= m0;
                hi -= m1;
                a0 += lo * lo;
                a1 += hi * hi;
                if (two)
                {
                    (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref at, L));
                    lo -= m2;
                    hi -= m3;
                    a2 += lo * lo;
                    a3 += hi * hi;
                }
            }
            a0.StoreUnsafe(ref qj);
            a1.StoreUnsafe(ref qj, H);
            if (two)
            {
                a2.StoreUnsafe(ref qj, 2 * H);
                a3.StoreUnsafe(ref qj, 3 * H);
            }
            j += two ? 2 * L : L;
        }
        return j;
    }

    // Σ g and Σ g·(x − μ) of columns [j, c) at 512 bits, one float vector of columns at a time (four double
    // accumulators) down every row, gating g first when p.Relu; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SumGradients512(in GradientRefs p, int j)
    {
        const int L = 16, H = L / 2;
        ref float g = ref p.G, y = ref p.Y, x = ref p.X;
        int c = p.C;
        bool relu = p.Relu, leaky = p.Slope != 0f;
        var slope = Vector512.Create(p.Slope);
        for (; j + L <= c; j += L)
        {
            ref double sj = ref Unsafe.Add(ref p.SumG, j);
            ref double tj = ref Unsafe.Add(ref p.SumGx, j);
            Vector512<double> s0 = Vector512.LoadUnsafe(ref sj), s1 = Vector512.LoadUnsafe(ref sj, H);
            Vector512<double> t0 = Vector512.LoadUnsafe(ref tj), t1 = Vector512.LoadUnsafe(ref tj, H);
            var mean = Vector512.LoadUnsafe(ref p.Mean, (nuint)j);
            for (int r = 0; r < p.Rows; r++)
            {
                nuint at = (nuint)((nint)r * c + j);
                var gv = Vector512.LoadUnsafe(ref g, at);
                if (relu)
                {
                    var yv = Vector512.LoadUnsafe(ref y, at);
                    gv = leaky ? LeakyReluBackwardOperator.Invoke(gv, yv, slope) : ReluBackwardOperator.Invoke(gv, yv);
                    gv.StoreUnsafe(ref g, at);
                }
                var (glo, ghi) = Vector512.Widen(gv);
                var (dlo, dhi) = Vector512.Widen(Vector512.LoadUnsafe(ref x, at) - mean);
                s0 += glo;
                s1 += ghi;
                t0 += glo * dlo;
                t1 += ghi * dhi;
            }
            s0.StoreUnsafe(ref sj);
            s1.StoreUnsafe(ref sj, H);
            t0.StoreUnsafe(ref tj);
            t1.StoreUnsafe(ref tj, H);
        }
        return j;
    }

    // dx = k·(g − meanG − slope·(x − μ)) along one row (starting at `at`) at 512 bits; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BackwardRow512(in BackwardRefs p, int at, int j, int c)
    {
        for (; j + 16 <= c; j += 16)
        {
            nuint i = (nuint)(at + j), q = (nuint)j;
            var d = Vector512.LoadUnsafe(ref p.X, i) - Vector512.LoadUnsafe(ref p.Mean, q);
            var v = Vector512.LoadUnsafe(ref p.K, q) * (Vector512.LoadUnsafe(ref p.G, i) - Vector512.LoadUnsafe(ref p.MeanG, q) - Vector512.LoadUnsafe(ref p.Slope, q) * d);
            v.StoreUnsafe(ref p.Dx, i);
        }
        return j;
    }

    // Column sums of columns [j, c) at 256 bits, one or two float vectors of columns at a time (two or four double
    // accumulators) summed down every row; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SumColumns256(ref double s, ref float x, int rows, int c, int j)
    {
        const int L = 8, H = L / 2;
        while (j + L <= c)
        {
            bool two = j + 2 * L <= c;
            ref double sj = ref Unsafe.Add(ref s, j);
            Vector256<double> a0 = Vector256.LoadUnsafe(ref sj), a1 = Vector256.LoadUnsafe(ref sj, H), a2 = default, a3 = default;
            if (two) (a2, a3) = (Vector256.LoadUnsafe(ref sj, 2 * H), Vector256.LoadUnsafe(ref sj, 3 * H));
            for (int r = 0; r < rows; r++)
            {
                ref float at = ref Unsafe.Add(ref x, (nint)r * c + j);
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref at));
                a0 += lo;
                a1 += hi;
                if (two)
                {
                    (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref at, L));
                    a2 += lo;
                    a3 += hi;
                }
            }
            a0.StoreUnsafe(ref sj);
            a1.StoreUnsafe(ref sj, H);
            if (two)
            {
                a2.StoreUnsafe(ref sj, 2 * H);
                a3.StoreUnsafe(ref sj, 3 * H);
            }
            j += two ? 2 * L : L;
        }
        return j;
    }

    // Σ (x − μ)² of columns [j, c) at 256 bits, blocked as SumColumns256.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SumSquaredDeviations256(ref double q, ref float x, ref double mu, int rows, int c, int j)
    {
        const int L = 8, H = L / 2;
        while (j + L <= c)
        {
            bool two = j + 2 * L <= c;
            ref double qj = ref Unsafe.Add(ref q, j);
            ref double mj = ref Unsafe.Add(ref mu, j);
            Vector256<double> a0 = Vector256.LoadUnsafe(ref qj), a1 = Vector256.LoadUnsafe(ref qj, H), a2 = default, a3 = default;
            Vector256<double> m0 = Vector256.LoadUnsafe(ref mj), m1 = Vector256.LoadUnsafe(ref mj, H), m2 = default, m3 = default;
            if (two)
            {
                (a2, a3) = (Vector256.LoadUnsafe(ref qj, 2 * H), Vector256.LoadUnsafe(ref qj, 3 * H));
                (m2, m3) = (Vector256.LoadUnsafe(ref mj, 2 * H), Vector256.LoadUnsafe(ref mj, 3 * H));
            }
            for (int r = 0; r < rows; r++)
            {
                ref float at = ref Unsafe.Add(ref x, (nint)r * c + j);
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref at));
                lo -= m0;
                hi -= m1;
                a0 += lo * lo;
                a1 += hi * hi;
                if (two)
                {
                    (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref at, L));
                    lo -= m2;
                    hi -= m3;
                    a2 += lo * lo;
                    a3 += hi * hi;
                }
            }
            a0.StoreUnsafe(ref qj);
            a1.StoreUnsafe(ref qj, H);
            if (two)
            {
                a2.StoreUnsafe(ref qj, 2 * H);
                a3.StoreUnsafe(ref qj, 3 * H);
            }
            j += two ? 2 * L : L;
        }
        return j;
    }

    // Σ g and Σ g·(x − μ) of columns [j, c) at 256 bits, one float vector of columns at a time (four double
    // accumulators) down every row, gating g first when p.Relu; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SumGradients256(in GradientRefs p, int j)
    {
        const int L = 8, H = L / 2;
        ref float g = ref p.G, y = ref p.Y, x = ref p.X;
        int c = p.C;
        bool relu = p.Relu, leaky = p.Slope != 0f;
        var slope = Vector256.Create(p.Slope);
        for (; j + L <= c; j += L)
        {
            ref double sj = ref Unsafe.Add(ref p.SumG, j);
            ref double tj = ref Unsafe.Add(ref p.SumGx, j);
            Vector256<double> s0 = Vector256.LoadUnsafe(ref sj), s1 = Vector256.LoadUnsafe(ref sj, H);
            Vector256<double> t0 = Vector256.LoadUnsafe(ref tj), t1 = Vector256.LoadUnsafe(ref tj, H);
            var mean = Vector256.LoadUnsafe(ref p.Mean, (nuint)j);
            for (int r = 0; r < p.Rows; r++)
            {
                nuint at = (nuint)((nint)r * c + j);
                var gv = Vector256.LoadUnsafe(ref g, at);
                if (relu)
                {
                    var yv = Vector256.LoadUnsafe(ref y, at);
                    gv = leaky ? LeakyReluBackwardOperator.Invoke(gv, yv, slope) : ReluBackwardOperator.Invoke(gv, yv);
                    gv.StoreUnsafe(ref g, at);
                }
                var (glo, ghi) = Vector256.Widen(gv);
                var (dlo, dhi) = Vector256.Widen(Vector256.LoadUnsafe(ref x, at) - mean);
                s0 += glo;
                s1 += ghi;
                t0 += glo * dlo;
                t1 += ghi * dhi;
            }
            s0.StoreUnsafe(ref sj);
            s1.StoreUnsafe(ref sj, H);
            t0.StoreUnsafe(ref tj);
            t1.StoreUnsafe(ref tj, H);
        }
        return j;
    }

    // dx = k·(g − meanG − slope·(x − μ)) along one row (starting at `at`) at 256 bits; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BackwardRow256(in BackwardRefs p, int at, int j, int c)
    {
        for (; j + 8 <= c; j += 8)
        {
            nuint i = (nuint)(at + j), q = (nuint)j;
            var d = Vector256.LoadUnsafe(ref p.X, i) - Vector256.LoadUnsafe(ref p.Mean, q);
            var v = Vector256.LoadUnsafe(ref p.K, q) * (Vector256.LoadUnsafe(ref p.G, i) - Vector256.LoadUnsafe(ref p.MeanG, q) - Vector256.LoadUnsafe(ref p.Slope, q) * d);
            v.StoreUnsafe(ref p.Dx, i);
        }
        return j;
    }

    // Column sums of columns [j, c) at 128 bits, one or two float vectors of columns at a time (two or four double
    // accumulators) summed down every row; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SumColumns128(ref double s, ref float x, int rows, int c, int j)
    {
        const int L = 4, H = L / 2;
        while (j + L <= c)
        {
            bool two = j + 2 * L <= c;
            ref double sj = ref Unsafe.Add(ref s, j);
            Vector128<double> a0 = Vector128.LoadUnsafe(ref sj), a1 = Vector128.LoadUnsafe(ref sj, H), a2 = default, a3 = default;
            if (two) (a2, a3) = (Vector128.LoadUnsafe(ref sj, 2 * H), Vector128.LoadUnsafe(ref sj, 3 * H));
            for (int r = 0; r < rows; r++)
            {
                ref float at = ref Unsafe.Add(ref x, (nint)r * c + j);
                var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref at));
                a0 += lo;
                a1 += hi;
                if (two)
                {
                    (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref at, L));
                    a2 += lo;
                    a3 += hi;
                }
            }
            a0.StoreUnsafe(ref sj);
            a1.StoreUnsafe(ref sj, H);
            if (two)
            {
                a2.StoreUnsafe(ref sj, 2 * H);
                a3.StoreUnsafe(ref sj, 3 * H);
            }
            j += two ? 2 * L : L;
        }
        return j;
    }

    // Σ (x − μ)² of columns [j, c) at 128 bits, blocked as SumColumns128.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SumSquaredDeviations128(ref double q, ref float x, ref double mu, int rows, int c, int j)
    {
        const int L = 4, H = L / 2;
        while (j + L <= c)
        {
            bool two = j + 2 * L <= c;
            ref double qj = ref Unsafe.Add(ref q, j);
            ref double mj = ref Unsafe.Add(ref mu, j);
            Vector128<double> a0 = Vector128.LoadUnsafe(ref qj), a1 = Vector128.LoadUnsafe(ref qj, H), a2 = default, a3 = default;
            Vector128<double> m0 = Vector128.LoadUnsafe(ref mj), m1 = Vector128.LoadUnsafe(ref mj, H), m2 = default, m3 = default;
            if (two)
            {
                (a2, a3) = (Vector128.LoadUnsafe(ref qj, 2 * H), Vector128.LoadUnsafe(ref qj, 3 * H));
                (m2, m3) = (Vector128.LoadUnsafe(ref mj, 2 * H), Vector128.LoadUnsafe(ref mj, 3 * H));
            }
            for (int r = 0; r < rows; r++)
            {
                ref float at = ref Unsafe.Add(ref x, (nint)r * c + j);
                var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref at));
                lo -= m0;
                hi -= m1;
                a0 += lo * lo;
                a1 += hi * hi;
                if (two)
                {
                    (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref at, L));
                    lo -= m2;
                    hi -= m3;
                    a2 += lo * lo;
                    a3 += hi * hi;
                }
            }
            a0.StoreUnsafe(ref qj);
            a1.StoreUnsafe(ref qj, H);
            if (two)
            {
                a2.StoreUnsafe(ref qj, 2 * H);
                a3.StoreUnsafe(ref qj, 3 * H);
            }
            j += two ? 2 * L : L;
        }
        return j;
    }

    // Σ g and Σ g·(x − μ) of columns [j, c) at 128 bits, one float vector of columns at a time (four double
    // accumulators) down every row, gating g first when p.Relu; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SumGradients128(in GradientRefs p, int j)
    {
        const int L = 4, H = L / 2;
        ref float g = ref p.G, y = ref p.Y, x = ref p.X;
        int c = p.C;
        bool relu = p.Relu, leaky = p.Slope != 0f;
        var slope = Vector128.Create(p.Slope);
        for (; j + L <= c; j += L)
        {
            ref double sj = ref Unsafe.Add(ref p.SumG, j);
            ref double tj = ref Unsafe.Add(ref p.SumGx, j);
            Vector128<double> s0 = Vector128.LoadUnsafe(ref sj), s1 = Vector128.LoadUnsafe(ref sj, H);
            Vector128<double> t0 = Vector128.LoadUnsafe(ref tj), t1 = Vector128.LoadUnsafe(ref tj, H);
            var mean = Vector128.LoadUnsafe(ref p.Mean, (nuint)j);
            for (int r = 0; r < p.Rows; r++)
            {
                nuint at = (nuint)((nint)r * c + j);
                var gv = Vector128.LoadUnsafe(ref g, at);
                if (relu)
                {
                    var yv = Vector128.LoadUnsafe(ref y, at);
                    gv = leaky ? LeakyReluBackwardOperator.Invoke(gv, yv, slope) : ReluBackwardOperator.Invoke(gv, yv);
                    gv.StoreUnsafe(ref g, at);
                }
                var (glo, ghi) = Vector128.Widen(gv);
                var (dlo, dhi) = Vector128.Widen(Vector128.LoadUnsafe(ref x, at) - mean);
                s0 += glo;
                s1 += ghi;
                t0 += glo * dlo;
                t1 += ghi * dhi;
            }
            s0.StoreUnsafe(ref sj);
            s1.StoreUnsafe(ref sj, H);
            t0.StoreUnsafe(ref tj);
            t1.StoreUnsafe(ref tj, H);
        }
        return j;
    }

    // dx = k·(g − meanG − slope·(x − μ)) along one row (starting at `at`) at 128 bits; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BackwardRow128(in BackwardRefs p, int at, int j, int c)
    {
        for (; j + 4 <= c; j += 4)
        {
            nuint i = (nuint)(at + j), q = (nuint)j;
            var d = Vector128.LoadUnsafe(ref p.X, i) - Vector128.LoadUnsafe(ref p.Mean, q);
            var v = Vector128.LoadUnsafe(ref p.K, q) * (Vector128.LoadUnsafe(ref p.G, i) - Vector128.LoadUnsafe(ref p.MeanG, q) - Vector128.LoadUnsafe(ref p.Slope, q) * d);
            v.StoreUnsafe(ref p.Dx, i);
        }
        return j;
    }
}
