using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Backprop.Data;
using Backprop.Kernels;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Cli;

/// <summary>
/// <c>backprop bench</c>: the standard measurements (GEMM GFLOP/s, MLP, CNN and CNN+BatchNorm training throughput,
/// batch-1 inference latency, bytes allocated per training step, peak RSS, the ISA and SIMD width in use). Compare
/// with the peers through <c>tools/bench-peers.sh</c>.
/// </summary>
internal sealed class BenchCommand : ICommand
{
    public string Name => "bench";
    public string Summary => "measure GEMM, MLP and CNN training and inference speed, and allocation per step";
    public string Usage =>
        "usage: backprop bench [--json] [--steps N] [--cnn-steps N] [--bn-steps N] [--text-steps N] [--quick]\n" +
        "       mpirun -np N backprop bench --allreduce [--json] [--quick]\n\n" +
        "  --steps N            MLP training steps per timed epoch (default 400, batch 64; two epochs are timed)\n" +
        "  --cnn-steps N        CNN training steps per timed epoch (default 60, batch 64; 0 skips the CNN)\n" +
        "  --bn-steps N         CNN+BatchNorm training steps per timed epoch (default: as --cnn-steps; 0 skips it)\n" +
        "  --text-steps N       GPT and LSTM language-model training steps timed (default and fewest 40, batch 12; 0 skips them)\n" +
        "  --quick              smaller sizes and fewer steps (a smoke test, not a measurement)\n" +
        "  --json               print one JSON object\n" +
        "  --allreduce          under mpirun: time averaging float gradients of several sizes (those of the reference\n" +
        "                       MLP and CNN among them) over the ranks, through the shared-memory window and through\n" +
        "                       MPI_Allreduce, in alternating blocks; rank 0 prints the medians\n\n" +
        "The MLP is 784-256-128-10 with ReLU, Adam lr 1e-3, cross-entropy, batch 64, on Fashion-MNIST when\n" +
        $"{Datasets.FashionMnistDirectory} exists, else on random data of the same shape.\n" +
        $"The CNN is {CnnSpec}\n" +
        "on the same images as [64,1,28,28] (tools/torch_fmnist_cnn.py is its PyTorch peer); the CNN+BatchNorm is\n" +
        $"{CnnBnSpec},\n" +
        "the model of the TorchSharp anchor (../shared/anchors/torchsharp). Allocations are counted on all threads.\n" +
        $"The language models are {GptSpec} and {LstmSpec} (train --text's\n" +
        "recipe, batch 12) on generated text, so no package is needed (tools/torch_char_gpt.py and torch_char_lstm.py\n" +
        "are their PyTorch peers, on fortunes).\n" +
        "BACKPROP_GEMM=scalar|v128|v256|v512 and BACKPROP_THREADS=N force a GEMM kernel and thread count.\n";

    public int Run(string[] args, TextWriter stdout, TextWriter stderr) =>
        DistributedRun.Wrap(args, stdout, stderr, Measure, Name, distributed: args.Contains("--allreduce"), launch: "backprop bench --allreduce");

    private int Measure(string[] args, TextWriter stdout, TextWriter stderr, DistributedRun? dist)
    {
        var cl = new CommandLine(args, ["steps", "cnn-steps", "bn-steps", "text-steps"], ["json", "quick", "allreduce"]);
        if (cl.Positionals.Count > 0) throw new UsageException($"unexpected argument '{cl.Positionals[0]}'.");
        if (dist is not null)
        {
            foreach (var o in new[] { "steps", "cnn-steps", "bn-steps", "text-steps" })
                if (cl.Has(o)) throw new UsageException($"--{o} measures training; --allreduce measures only the collective.");
            return AllReduceBench.Run(dist, cl.Has("json"), cl.Has("quick"), cl.Has("json") ? stderr : stdout, stdout);
        }
        bool quick = cl.Has("quick"), json = cl.Has("json");
        int steps = cl.Int("steps", quick ? 20 : 400, min: 1);
        int cnnSteps = cl.Int("cnn-steps", quick ? 3 : 60, min: 0);
        int bnSteps = cl.Int("bn-steps", cnnSteps, min: 0);
        int textSteps = cl.Int("text-steps", quick ? 1 : 40, min: 0);
        var log = json ? stderr : stdout;
        log.WriteLine($"cpu     {Isa}, SIMD width in use {SimdInUse}, {Environment.ProcessorCount} core(s)");

        int allThreads = Environment.ProcessorCount;
        int[] sizes = quick ? [64, 128] : [256, 512, 1024, 2048];
        var gemm = new JsonObject();
        log.WriteLine($"gemm    kernel {Gemm.Variant}, {allThreads} core(s)");
        foreach (int n in sizes)
        {
            double one = GemmBenchmark.Measure(n, 1, Gemm.Variant, quick ? 0.02 : 0.5);
            double all = GemmBenchmark.Measure(n, allThreads, Gemm.Variant, quick ? 0.02 : 0.5);
            gemm[n.ToString(CultureInfo.InvariantCulture)] = new JsonObject { ["1_thread"] = Math.Round(one, 1), ["all_threads"] = Math.Round(all, 1) };
            log.WriteLine($"gemm    n={n,-5} {one,7:F1} GFLOP/s on 1 thread  {all,7:F1} GFLOP/s on {allThreads}");
        }

        var (data, source) = MlpData(quick);
        var mlp = MeasureTraining(Mlp.Create(784, [256, 128], 10, "relu", rng: new Rng(1)), data, steps);
        log.WriteLine($"mlp     784-256-128-10 relu, adam, batch 64, {source}: {mlp.SamplesPerSecond:N0} samples/s, {mlp.AllocatedBytesPerStep:N0} bytes allocated per step");
        var (inferUs, inferBytes) = MeasureInference(mlp.Model, data, quick ? 200 : 20000);
        log.WriteLine($"infer   batch-1 Predictor.Predict: {inferUs:F2} µs, {inferBytes:N0} bytes allocated per call");
        TrainingResult? cnn = null;
        if (cnnSteps > 0)
        {
            cnn = MeasureTraining(ModelLanguage.Build(CnnSpec, [1, 28, 28], new Rng(1)), data.WithSampleShape(1, 28, 28), cnnSteps);
            log.WriteLine($"cnn     {CnnSpec}, adam, batch 64, {source}: {cnn.SamplesPerSecond:N0} samples/s " +
                $"({64 / cnn.SamplesPerSecond * 1e3:F1} ms per step), {cnn.AllocatedBytesPerStep:N0} bytes allocated per step");
        }
        TrainingResult? cnnBn = null;
        if (bnSteps > 0)
        {
            cnnBn = MeasureTraining(ModelLanguage.Build(CnnBnSpec, [1, 28, 28], new Rng(1)), data.WithSampleShape(1, 28, 28), bnSteps);
            log.WriteLine($"cnn+bn  {CnnBnSpec}, adam, batch 64, {source}: {cnnBn.SamplesPerSecond:N0} samples/s " +
                $"({64 / cnnBn.SamplesPerSecond * 1e3:F1} ms per step), {cnnBn.AllocatedBytesPerStep:N0} bytes allocated per step");
        }
        (double TokensPerSecond, long AllocatedBytesPerStep)? gpt = null, lstm = null;
        if (textSteps > 0)
        {
            gpt = LanguageModelBench.Measure(GptSpec, textSteps);
            log.WriteLine($"gpt     {GptSpec}, adamw, batch 12, generated text: {gpt.Value.TokensPerSecond:N0} tokens/s, {gpt.Value.AllocatedBytesPerStep:N0} bytes allocated per step");
            lstm = LanguageModelBench.Measure(LstmSpec, textSteps);
            log.WriteLine($"lstm    {LstmSpec}, adamw, batch 12, generated text: {lstm.Value.TokensPerSecond:N0} tokens/s, {lstm.Value.AllocatedBytesPerStep:N0} bytes allocated per step");
        }
        long peakRssMb = PeakRssMegabytes();
        log.WriteLine($"memory  peak RSS {peakRssMb:N0} MB (the whole bench run)");

        if (json)
        {
            stdout.WriteLine(Json.Write(new JsonObject
            {
                ["gemm_kernel"] = Gemm.Variant.ToString(),
                ["threads"] = allThreads,
                ["gemm_gflops"] = gemm,
                ["mlp_data"] = source,
                ["mlp_train_samples_per_s"] = Math.Round(mlp.SamplesPerSecond),
                ["mlp_infer_batch1_us"] = Math.Round(inferUs, 2),
                ["mlp_infer_batch1_alloc_bytes"] = inferBytes,
                ["alloc_bytes_per_train_step"] = mlp.AllocatedBytesPerStep,
                ["cnn_train_samples_per_s"] = cnn is null ? null : Math.Round(cnn.SamplesPerSecond),
                ["cnn_alloc_bytes_per_train_step"] = cnn?.AllocatedBytesPerStep,
                ["cnn_bn_train_samples_per_s"] = cnnBn is null ? null : Math.Round(cnnBn.SamplesPerSecond),
                ["cnn_bn_alloc_bytes_per_train_step"] = cnnBn?.AllocatedBytesPerStep,
                ["gpt_train_tokens_per_s"] = gpt is null ? null : Math.Round(gpt.Value.TokensPerSecond),
                ["gpt_alloc_bytes_per_train_step"] = gpt?.AllocatedBytesPerStep,
                ["lstm_train_tokens_per_s"] = lstm is null ? null : Math.Round(lstm.Value.TokensPerSecond),
                ["lstm_alloc_bytes_per_train_step"] = lstm?.AllocatedBytesPerStep,
                ["peak_rss_mb"] = peakRssMb,
                ["isa"] = Isa,
                ["simd"] = SimdInUse,
                ["quick"] = quick,
            }));
        }
        return 0;
    }

    private static (Dataset Data, string Source) MlpData(bool quick)
    {
        if (!quick && Directory.Exists(Datasets.FashionMnistDirectory))
            return (Datasets.Mnist(train: true), "fashion-mnist");
        int n = quick ? 2048 : 60000;
        var rng = new Rng(7);
        var x = Tensor.RandomUniform([n, 784], rng);
        var y = Tensor.FromArray([.. Enumerable.Range(0, n).Select(_ => (float)rng.NextInt(10))]);
        return (new Dataset(x, y, null, [.. Enumerable.Range(0, 10).Select(i => i.ToString(CultureInfo.InvariantCulture))], "random"), "random data (fashion-mnist not installed)");
    }

    /// <summary>
    /// The widest vector instruction set the runtime lets this process use (as the runtime sees it: with
    /// <c>DOTNET_EnableAVX512=0</c> an AVX-512 machine reports avx2).
    /// </summary>
    internal static string Isa =>
        System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? "avx512"
        : System.Runtime.Intrinsics.X86.Avx2.IsSupported ? "avx2"
        : System.Runtime.Intrinsics.X86.Sse42.IsSupported ? "sse4.2"
        : System.Runtime.Intrinsics.X86.Sse2.IsSupported ? "sse2"
        : System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported ? "arm64-advsimd"
        : "none";

    /// <summary>The vector width the kernels chose (scalar, v128, v256 or v512), after <c>BACKPROP_SIMD</c>.</summary>
    internal static string SimdInUse => Simd.Name(Simd.Width);

    /// <summary>
    /// The most physical memory this process has held, in MB: VmHWM of <c>/proc/self/status</c> on Linux (what
    /// <c>/usr/bin/time -v</c> calls maximum resident set size), the runtime's peak working set elsewhere.
    /// </summary>
    internal static long PeakRssMegabytes()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
        {
            foreach (var line in File.ReadLines(status))
            {
                // "VmHWM:    544564 kB"
                if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
                var kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
                if (long.TryParse(kb, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value)) return value / 1024;
            }
        }
        using var self = Process.GetCurrentProcess();
        return self.PeakWorkingSet64 >> 20;
    }

    private sealed record TrainingResult(Module Model, double SamplesPerSecond, long AllocatedBytesPerStep);

    /// <summary>The char GPT of the targets (nanoGPT's CPU configuration).</summary>
    internal const string GptSpec = "gpt:layers=4,heads=4,dim=128,context=64";

    /// <summary>The 2-layer LSTM language model of the targets.</summary>
    internal const string LstmSpec = "lstm:layers=2,hidden=256,context=64";

    /// <summary>The benchmark CNN of issue 4, for [N, 1, 28, 28] images (the model language prepends the reshape).</summary>
    internal const string CnnSpec =
        "conv(32,3,pad=1)-relu-maxpool(2)-conv(64,3,pad=1)-relu-maxpool(2)-flatten-dense(128)-relu-dropout(0.3)-dense(10)";

    /// <summary>
    /// The same CNN with BatchNorm2d after each convolution (before its ReLU), as the TorchSharp anchor builds it:
    /// <c>Conv2d, BatchNorm2d, ReLU, MaxPool2d</c> twice, eps 1e-5, momentum 0.1, affine, the convolutions keeping
    /// their biases.
    /// </summary>
    internal const string CnnBnSpec =
        "conv(32,3,pad=1)-batchnorm-relu-maxpool(2)-conv(64,3,pad=1)-batchnorm-relu-maxpool(2)-flatten-dense(128)-relu-dropout(0.3)-dense(10)";

    /// <summary>
    /// Samples per second of <c>Trainer.Fit</c> over two epochs of <paramref name="steps"/> batches each (Adam lr 1e-3,
    /// cross-entropy, batch 64), and the bytes a steady-state step allocates on all threads (the GEMM and convolution
    /// workers included): the difference between the allocations of that two-epoch run and of a one-epoch warm-up run
    /// on the same data, divided by the steps of the extra epoch — the per-call set-up of <c>Fit</c> (buffers,
    /// history) cancels out and what remains is one more epoch's steps.
    /// </summary>
    private static TrainingResult MeasureTraining(Module model, Dataset data, int steps)
    {
        const int batch = 64;
        var optimizer = new Adam(model.Parameters(), lr: 1e-3f);
        var loss = Losses.CrossEntropy;
        var timed = data.Take(steps * batch);
        steps = (timed.Count + batch - 1) / batch;

        long bytes0 = GC.GetTotalAllocatedBytes(precise: true);
        model.Fit(timed, loss, optimizer, epochs: 1, batchSize: batch, seed: 1);
        long bytes1 = GC.GetTotalAllocatedBytes(precise: true);
        long t0 = Stopwatch.GetTimestamp();
        model.Fit(timed, loss, optimizer, epochs: 2, batchSize: batch, seed: 2);
        double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        long bytes2 = GC.GetTotalAllocatedBytes(precise: true);
        long perStep = Math.Max(0, ((bytes2 - bytes1) - (bytes1 - bytes0)) / steps);
        return new TrainingResult(model, 2 * timed.Count / seconds, perStep);
    }

    /// <summary>
    /// Median latency in µs of a batch-1 prediction through the public <see cref="Predictor"/> (the compiled,
    /// graph-free path, writing into the caller's buffer), and the bytes allocated per call on all threads, averaged
    /// over the timed calls.
    /// </summary>
    private static (double Microseconds, long AllocatedBytesPerCall) MeasureInference(Module model, Dataset data, int calls)
    {
        var predictor = new Predictor(model);
        var x = data.Features.Slice(0, 1).ToArray();
        var y = new float[predictor.OutFeatures];
        var times = new double[calls];
        float sink = 0f;
        for (int i = 0; i < Math.Min(calls, 1000); i++)
        {
            predictor.Predict(x, y);
            sink += y[0];
        }
        long bytes = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < calls; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            predictor.Predict(x, y);
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
            sink += y[0];
        }
        long perCall = (GC.GetTotalAllocatedBytes(precise: true) - bytes) / calls;
        GC.KeepAlive(sink);
        Array.Sort(times);
        return (times[calls / 2], perCall);
    }
}
