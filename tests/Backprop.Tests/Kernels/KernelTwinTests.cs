using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>
/// Every SIMD kernel (the cases of <see cref="KernelSelfTest"/>) at Vector128, Vector256 and Vector512 against its
/// scalar twin, bit for bit, at every size from 0 to 70 and a few longer ones, so that every tail of every width is
/// reached. Widths the machine does not accelerate run in software, so this checks every path on any CPU.
/// </summary>
public sealed class KernelTwinTests
{
    private static readonly int[] Sizes = [.. Enumerable.Range(0, 71), 100, 257, 1000];

    public static TheoryData<string, SimdWidth> Cases()
    {
        var data = new TheoryData<string, SimdWidth>();
        foreach (var kernel in KernelCases.All)
            foreach (var width in Simd.AllWidths)
                if (width != SimdWidth.Scalar) data.Add(kernel.Name, width);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void VectorPathIsBitIdenticalToScalarTwin(string kernel, SimdWidth width)
    {
        var run = KernelCases.All.Single(k => k.Name == kernel).Run;
        foreach (int size in Sizes)
        {
            float[] scalar = run(size, SimdWidth.Scalar), vector = run(size, width);
            Assert.Equal(scalar.Length, vector.Length);
            for (int i = 0; i < scalar.Length; i++)
                if (BitConverter.SingleToInt32Bits(scalar[i]) != BitConverter.SingleToInt32Bits(vector[i]))
                    Assert.Fail($"{kernel} at {width}, size {size}: output {i} is {vector[i]:R} but the scalar twin gives {scalar[i]:R}.");
        }
    }

    [Fact]
    public void CasesAreDistinctAndDependOnTheirData()
    {
        Assert.Equal(KernelCases.All.Count, KernelCases.All.Select(k => k.Name).Distinct().Count());
        foreach (var kernel in KernelCases.All)
        {
            // A case whose output were empty or constant would compare nothing.
            var a = kernel.Run(33, SimdWidth.Scalar);
            var b = kernel.Run(17, SimdWidth.Scalar);
            Assert.NotEmpty(a);
            Assert.True(a.Distinct().Count() > 1, $"{kernel.Name} gives a constant output.");
            Assert.NotEqual(a.Length, b.Length);
        }
    }

    [Fact]
    public void SelfTestReportsEveryKernelAtEveryVectorWidth()
    {
        var results = KernelSelfTest.Run();
        Assert.Equal(KernelSelfTest.Kernels.Count * 3, results.Count);
        Assert.All(results, r => Assert.True(r.Matches, $"{r.Kernel} at {r.Width}: max difference {r.MaxDifference}"));
        Assert.All(results, r => Assert.Equal(0, r.MaxDifference));
        Assert.Equal(Simd.IsAccelerated(SimdWidth.Vector512), results.First(r => r.Width == SimdWidth.Vector512).Accelerated);
    }

    [Fact]
    public void ComparisonSeesSignOfZeroAndNaN()
    {
        Assert.Equal((true, 0.0), KernelSelfTest.Compare([1f, -0f], [1f, -0f]));
        Assert.Equal((false, 0.0), KernelSelfTest.Compare([1f, -0f], [1f, 0f]));
        Assert.Equal((false, 0.5), KernelSelfTest.Compare([1f, 2f], [1.5f, 2f]));
        Assert.Equal((false, double.PositiveInfinity), KernelSelfTest.Compare([1f], [float.NaN]));
        Assert.False(KernelSelfTest.Compare([1f], [1f, 2f]).Same);
    }
}
