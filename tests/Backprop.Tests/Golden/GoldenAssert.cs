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

    /// <summary>
    /// One op case against PyTorch: the value of <paramref name="apply"/> on the case's inputs at rtol 1e-5 (atol
    /// 1e-6), and dL/dinput for L = Σ output ⊙ R (<c>output.Backward(R)</c>) at rtol 1e-4 (atol 1e-6); an input the
    /// file gives no gradient for must get none. The tolerances are explained on <c>TorchReferenceTests</c>.
    /// </summary>
    public static void MatchesTorch(GoldenCase c, Func<GoldenCase, Tensor[], Tensor> apply)
    {
        var inputs = c.Inputs.Select(i => i.Grad ? i.ToTensor().RequireGrad() : i.ToTensor()).ToArray();
        var output = apply(c, inputs);
        Close(c.Output, output, 1e-5, 1e-6, $"{c.Name} value");
        output.Backward(c.R.ToTensor());
        for (int i = 0; i < inputs.Length; i++)
        {
            if (c.Grads[i] is not { } expected) { Assert.Null(inputs[i].Grad); continue; }
            Assert.NotNull(inputs[i].Grad);
            Close(expected, inputs[i].Grad!, 1e-4, 1e-6, $"{c.Name} dL/dinput{i}");
        }
    }
}
