using Backprop.Kernels;

// GEMM throughput, C[n,n] = A[n,n]·B[n,n], for every supported micro-kernel variant on one thread and on all threads;
// or, with --shape, C[m,n] = op(A)·op(B) of one layer's shape (ta / tb: A or B transposed, as a dense layer's
// backward passes them), e.g. the reference MLP's first layer at batch 64: --shape 64,256,784 (forward),
// --shape 784,256,64,ta (the weight gradient).
// Usage: Backprop.Bench [n ...] [--shape m,n,k[,ta][,tb] ...] [--variants scalar,v128,v256,v512] [--seconds s]
// Compare in the same run with OpenBLAS: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 shared/anchors/sgemm_numpy.py
var sizes = new List<int>();
var shapes = new List<(int M, int N, int K, bool TransA, bool TransB)>();
var widths = SupportedWidths();
double seconds = 0.25;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--variants") widths = [.. args[++i].Split(',').Select(ParseWidth)];
    else if (args[i] == "--shape")
    {
        var parts = args[++i].Split(',');
        int[] mnk = [.. parts.Take(3).Select(p => int.Parse(p, System.Globalization.CultureInfo.InvariantCulture))];
        shapes.Add((mnk[0], mnk[1], mnk[2], parts.Contains("ta"), parts.Contains("tb")));
    }
    else if (args[i] == "--seconds") seconds = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    else sizes.Add(int.Parse(args[i], System.Globalization.CultureInfo.InvariantCulture));
}
if (shapes.Count > 0)
{
    Console.WriteLine($"GEMM GFLOP/s of given shapes, best call, one thread");
    Console.WriteLine($"{"variant",-10}{"m",6}{"n",6}{"k",6}{"op",8}{"1 thread",12}");
    foreach (var width in widths)
        foreach (var (m, n, k, ta, tb) in shapes)
        {
            double rate = GemmBenchmark.Measure(m, n, k, ta, tb, 1, GemmSelector.FromWidth(width), seconds);
            Console.WriteLine($"{Simd.Name(width),-10}{m,6}{n,6}{k,6}{(ta ? "Aᵀ" : "A") + (tb ? "·Bᵀ" : "·B"),8}{rate,12:F1}");
        }
    return;
}
if (sizes.Count == 0) sizes = [256, 512, 1024, 2048];

int all = Gemm.MaxThreads;
Console.WriteLine($"GEMM GFLOP/s, best call; default variant {Gemm.Variant}, {all} threads available");
Console.WriteLine($"{"variant",-10}{"n",6}{"1 thread",12}{$"{all} threads",12}{"ratio",8}");
foreach (var width in widths)
    foreach (int n in sizes)
    {
        var v = GemmSelector.FromWidth(width);
        // The scalar reference needs seconds per call at n = 2048; one call is enough to show its rate.
        double s = v == GemmVariant.Scalar ? 0 : seconds;
        double one = GemmBenchmark.Measure(n, 1, v, s);
        double many = all > 1 ? GemmBenchmark.Measure(n, all, v, s) : one;
        Console.WriteLine($"{Simd.Name(width),-10}{n,6}{one,12:F1}{many,12:F1}{many / one,8:F2}");
    }

// The widths whose GEMM micro-kernel runs in hardware here, and the names BACKPROP_SIMD uses for them.
static List<SimdWidth> SupportedWidths() =>
    [.. Simd.AllWidths.Where(w => GemmSelector.IsSupported(GemmSelector.FromWidth(w)))];

static SimdWidth ParseWidth(string s) =>
    Simd.Parse(s) ?? throw new ArgumentException($"unknown variant '{s}': expected scalar, v128, v256 or v512");
