using Backprop.Kernels;

// GEMM throughput, C[n,n] = A[n,n]·B[n,n], for every supported micro-kernel variant on one thread and on all threads.
// Usage: Backprop.Bench [n ...] [--variants scalar,v128,v256,v512] [--seconds s]
// Compare in the same run with OpenBLAS: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 shared/anchors/sgemm_numpy.py
var sizes = new List<int>();
var variants = GemmVariantsSupported();
double seconds = 0.25;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--variants") variants = [.. args[++i].Split(',').Select(ParseVariant)];
    else if (args[i] == "--seconds") seconds = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    else sizes.Add(int.Parse(args[i], System.Globalization.CultureInfo.InvariantCulture));
}
if (sizes.Count == 0) sizes = [256, 512, 1024, 2048];

int all = Gemm.MaxThreads;
Console.WriteLine($"GEMM GFLOP/s, best call; default variant {Gemm.Variant}, {all} threads available");
Console.WriteLine($"{"variant",-10}{"n",6}{"1 thread",12}{$"{all} threads",12}{"ratio",8}");
foreach (var v in variants)
    foreach (int n in sizes)
    {
        // The scalar reference needs seconds per call at n = 2048; one call is enough to show its rate.
        double s = v == GemmVariant.Scalar ? 0 : seconds;
        double one = GemmBenchmark.Measure(n, 1, v, s);
        double many = all > 1 ? GemmBenchmark.Measure(n, all, v, s) : one;
        Console.WriteLine($"{Name(v),-10}{n,6}{one,12:F1}{many,12:F1}{many / one,8:F2}");
    }

static List<GemmVariant> GemmVariantsSupported() =>
    [.. Enum.GetValues<GemmVariant>().Where(v => v == GemmVariant.Scalar || v switch
    {
        GemmVariant.Vector128 => System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated,
        GemmVariant.Vector256 => System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated,
        _ => System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated,
    })];

static GemmVariant ParseVariant(string s) => s switch
{
    "scalar" => GemmVariant.Scalar,
    "v128" => GemmVariant.Vector128,
    "v256" => GemmVariant.Vector256,
    "v512" => GemmVariant.Vector512,
    _ => throw new ArgumentException($"unknown variant '{s}': expected scalar, v128, v256 or v512"),
};

static string Name(GemmVariant v) => v switch
{
    GemmVariant.Scalar => "scalar",
    GemmVariant.Vector128 => "v128",
    GemmVariant.Vector256 => "v256",
    _ => "v512",
};
