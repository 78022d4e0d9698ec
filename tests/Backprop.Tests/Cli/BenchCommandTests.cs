using System.Globalization;
using System.Text.Json;
using Backprop.Cli;

namespace Backprop.Tests.Cli;

/// <summary><c>backprop bench</c>: its JSON keys (what tools/bench-peers.sh reads) and the figures it derives.</summary>
public sealed class BenchCommandTests
{
    [Fact]
    public void JsonKeepsItsKeysAndAddsBatchNormMemoryAndIsa()
    {
        var (code, stdout, stderr) = CliRunner.Run(["bench", "--quick", "--json", "--steps", "2", "--cnn-steps", "1", "--bn-steps", "1"]);
        Assert.True(code == 0, stderr);
        var json = JsonDocument.Parse(stdout).RootElement;
        foreach (var key in new[] { "gemm_kernel", "threads", "gemm_gflops", "mlp_data", "mlp_train_samples_per_s", "mlp_infer_batch1_us",
                                    "mlp_infer_batch1_alloc_bytes", "alloc_bytes_per_train_step", "cnn_train_samples_per_s",
                                    "cnn_alloc_bytes_per_train_step", "quick" })
            Assert.True(json.TryGetProperty(key, out _), $"bench --json lost the key {key}: {stdout}");
        Assert.True(json.GetProperty("cnn_bn_train_samples_per_s").GetDouble() > 0, stdout);
        Assert.True(json.GetProperty("gpt_train_tokens_per_s").GetDouble() > 0, stdout);
        Assert.True(json.GetProperty("lstm_train_tokens_per_s").GetDouble() > 0, stdout);
        Assert.True(json.GetProperty("cnn_bn_alloc_bytes_per_train_step").GetInt64() >= 0, stdout);
        long rss = json.GetProperty("peak_rss_mb").GetInt64();
        Assert.InRange(rss, 1, BenchCommand.PeakRssMegabytes());
        string expectedIsa = System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? "avx512"
            : System.Runtime.Intrinsics.X86.Avx2.IsSupported ? "avx2"
            : System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported ? "arm64-advsimd"
            : BenchCommand.Isa;
        Assert.Equal(expectedIsa, json.GetProperty("isa").GetString());
        Assert.Equal(BenchCommand.SimdInUse, json.GetProperty("simd").GetString());
        Assert.Contains(BenchCommand.CnnBnSpec, stderr);
    }

    [Fact]
    public void SimdNamesTheGemmVariant()
    {
        string expected = Backprop.Kernels.Gemm.Variant switch
        {
            Backprop.Kernels.GemmVariant.Scalar => "scalar",
            Backprop.Kernels.GemmVariant.Vector128 => "v128",
            Backprop.Kernels.GemmVariant.Vector256 => "v256",
            _ => "v512",
        };
        Assert.Equal(expected, BenchCommand.SimdInUse);
    }

    [Fact]
    public void PeakRssCoversWhatTheProcessHoldsNow()
    {
        // 64 MB written page by page is resident; the high-water mark is at least that and at least the current RSS.
        var block = new byte[64 << 20];
        for (int i = 0; i < block.Length; i += 4096) block[i] = 1;
        // The current RSS is read first: other tests of this process allocate meanwhile, and the high-water mark read
        // afterwards can only have grown, while a current RSS read after it could exceed it.
        long rssMb = -1;
        if (File.Exists("/proc/self/status"))
        {
            var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            rssMb = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
        }
        long peak = BenchCommand.PeakRssMegabytes();
        Assert.True(peak >= 64, $"peak RSS {peak} MB after touching 64 MB");
        GC.KeepAlive(block);
        if (rssMb < 0) return;
        Assert.True(peak >= rssMb, $"peak RSS {peak} MB is below the current RSS {rssMb} MB");
    }
}
