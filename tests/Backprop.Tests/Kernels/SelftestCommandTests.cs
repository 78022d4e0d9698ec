using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Backprop.Kernels;
using Backprop.Tests.Cli;

namespace Backprop.Tests.Kernels;

/// <summary><c>backprop selftest</c>: one line per kernel and width, a summary line CI can grep, exit code 0 when all match.</summary>
public sealed class SelftestCommandTests
{
    [Fact]
    public void PrintsEveryKernelAndWidthAndPasses()
    {
        var (code, stdout, stderr) = CliRunner.Run(["selftest"]);
        Assert.True(code == 0, stdout + stderr);
        var lines = stdout.TrimEnd('\n').Split('\n');
        int checks = KernelSelfTest.Kernels.Count * 3;
        Assert.StartsWith($"width: {Simd.Name(Simd.Width)} (hardware: {Simd.Name(Simd.HardwareWidth)};", lines[0]);
        Assert.Equal($"selftest: {checks} passed, 0 failed", lines[^1]);
        Assert.Equal(checks + 2, lines.Length);
        foreach (var kernel in KernelSelfTest.Kernels)
            foreach (var width in new[] { "v128", "v256", "v512" })
                Assert.Contains(lines, l => Regex.IsMatch(l, $@"^{Regex.Escape(kernel)} +{width} +ok"));
    }

    [Fact]
    public void JsonListsEveryCheck()
    {
        var (code, stdout, _) = CliRunner.Run(["selftest", "--json"]);
        Assert.Equal(0, code);
        var json = JsonNode.Parse(stdout)!;
        Assert.Equal(Simd.Name(Simd.Width), (string?)json["width"]);
        Assert.Equal(0, (int)json["failed"]!);
        var checks = json["checks"]!.AsArray();
        Assert.Equal(KernelSelfTest.Kernels.Count * 3, checks.Count);
        Assert.All(checks, c => Assert.True((bool)c!["matches"]!));
    }

    [Fact]
    public void RejectsArguments()
    {
        var (code, _, stderr) = CliRunner.Run(["selftest", "extra"]);
        Assert.Equal(2, code);
        Assert.Contains("unexpected argument 'extra'", stderr);
    }
}
