namespace Backprop.Tests.Golden;

/// <summary>Element-wise comparison of a tensor with a reference: |actual − expected| ≤ max(rtol·|expected|, atol).</summary>
public static class GoldenAssert
{
    public static void Close(GoldenTensor expected, Tensor actual, double rtol, double atol, string what)
    {
        Assert.True(expected.Shape.SequenceEqual(actual.Shape),
            $"{what}: shape [{string.Join(",", actual.Shape)}], expected [{string.Join(",", expected.Shape)}]");
        var a = actual.ToArray();
        for (int i = 0; i < a.Length; i++)
        {
            double e = expected.Data[i], err = Math.Abs(a[i] - e), allowed = Math.Max(rtol * Math.Abs(e), atol);
            Assert.True(err <= allowed,
                $"{what}: element {i} is {a[i]:G9}, expected {e:G9} (error {err:E2} > allowed {allowed:E2})");
        }
    }
}
