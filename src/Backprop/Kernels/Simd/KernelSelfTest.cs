namespace Backprop.Kernels;

/// <summary>One kernel checked at one width against its scalar twin.</summary>
/// <param name="Kernel">The kernel's name, e.g. <c>dense.bias_relu</c>.</param>
/// <param name="Width">The width checked.</param>
/// <param name="Accelerated">Whether this machine runs <paramref name="Width"/> in hardware (otherwise it ran in software).</param>
/// <param name="Matches">Whether every output was bit-for-bit the scalar twin's, at every size tried.</param>
/// <param name="MaxDifference">The largest |vector − scalar| over all outputs (0 when they match; infinity where one is NaN and the other is not).</param>
public sealed record KernelCheck(string Kernel, SimdWidth Width, bool Accelerated, bool Matches, double MaxDifference);

/// <summary>
/// Runs every SIMD kernel at every vector width on fixed pseudo-random data, at sizes that reach every tail of every
/// width, and compares each result with the kernel's scalar twin bit for bit. Widths the machine does not accelerate
/// run in software, so one machine checks every path; on ARM64 or a machine without AVX-512 this is how the wide
/// paths are still checked. <c>backprop selftest</c> prints the result.
/// </summary>
public static class KernelSelfTest
{
    /// <summary>Sizes every kernel is run at: empty, below, at and just past each vector length, and a few longer runs.</summary>
    internal static readonly int[] Sizes = [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100];

    /// <summary>Names of the kernels checked, in the order <see cref="Run"/> reports them.</summary>
    public static IReadOnlyList<string> Kernels => [.. KernelCases.All.Select(c => c.Name)];

    /// <summary>Every kernel at Vector128, Vector256 and Vector512, each compared with its scalar twin.</summary>
    public static IReadOnlyList<KernelCheck> Run()
    {
        var results = new List<KernelCheck>();
        foreach (var kernel in KernelCases.All)
            foreach (var width in Simd.AllWidths)
                if (width != SimdWidth.Scalar) results.Add(Check(kernel, width, Sizes));
        return results;
    }

    /// <summary>One kernel at one width over the given sizes.</summary>
    internal static KernelCheck Check(KernelCase kernel, SimdWidth width, IEnumerable<int> sizes)
    {
        bool matches = true;
        double maxDifference = 0;
        foreach (int size in sizes)
        {
            var (ok, difference) = Compare(kernel.Run(size, SimdWidth.Scalar), kernel.Run(size, width));
            matches &= ok;
            maxDifference = Math.Max(maxDifference, difference);
        }
        return new KernelCheck(kernel.Name, width, Simd.IsAccelerated(width), matches, maxDifference);
    }

    /// <summary>Whether two outputs are the same bits, and the largest absolute difference between them.</summary>
    internal static (bool Same, double MaxDifference) Compare(float[] expected, float[] actual)
    {
        if (expected.Length != actual.Length) return (false, double.PositiveInfinity);
        bool same = true;
        double max = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected[i], a = actual[i];
            if (BitConverter.SingleToInt32Bits(e) == BitConverter.SingleToInt32Bits(a)) continue;
            same = false;
            double d = float.IsNaN(e) || float.IsNaN(a) ? double.PositiveInfinity : Math.Abs((double)e - a);
            max = Math.Max(max, d);
        }
        return (same, max);
    }
}
