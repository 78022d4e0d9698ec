using Backprop.Tests.Golden;

namespace Backprop.Tests.Autograd;

/// <summary>
/// Every op case of <c>Golden/torch_ops.json</c>: Backprop's float32 value and gradients against PyTorch's float64
/// ones for the same float32 inputs, with the gradient of L = Σ output ⊙ R obtained as <c>output.Backward(R)</c>.
/// </summary>
/// <remarks>
/// Tolerance rule: an element passes when |actual − expected| ≤ max(rtol·|expected|, atol).
/// Values: rtol 1e-5 (≈ 80 float32 ulps: a few roundings per op, sums of up to 256 terms), atol 1e-6 for results
/// near 0. Gradients: rtol 1e-4, atol 1e-6: a gradient chains several rounded factors (g·y·(1−y), G·Bᵀ,
/// y ⊙ (g − Σ g⊙y)) and cancellation in their sums leaves absolute errors of a few ulps of the terms.
/// Measured, the worst case uses 16% of its allowance (the value of the 256-term matmul), every gradient under 20%,
/// so no case needs a wider tolerance; a case that ever does should say why in its note in the generator.
/// </remarks>
public sealed class TorchReferenceTests
{
    public static TheoryData<string> Cases => [.. TorchReference.Ops.Select(c => c.Name)];

    [Fact]
    public void ReferenceFileCoversEveryDifferentiableOp()
    {
        var ops = TorchReference.Ops.Select(c => c.Op).ToHashSet();
        string[] expected =
        [
            "add", "sub", "mul", "div", "add_float", "sub_float", "mul_float", "div_float", "neg", "maximum", "pow",
            "pow_float", "exp", "log", "sqrt", "abs", "clamp", "square", "sigmoid", "tanh", "relu", "leaky_relu", "sum",
            "mean", "sum_axis", "mean_axis", "max", "max_axis", "softmax", "log_softmax", "matmul", "reshape", "flatten",
            "t", "transpose", "permute", "rows", "slice",
        ];
        Assert.Empty(expected.Except(ops));
        Assert.Equal(TorchReference.Ops.Count, TorchReference.Ops.Select(c => c.Name).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ValuesAndGradientsMatchPyTorch(string name) =>
        GoldenAssert.MatchesTorch(TorchReference.Ops.Single(x => x.Name == name), Apply);

    /// <summary>The Backprop call for each op name the generator writes.</summary>
    internal static Tensor Apply(GoldenCase c, Tensor[] x) => c.Op switch
    {
        "add" => x[0] + x[1],
        "sub" => x[0] - x[1],
        "mul" => x[0] * x[1],
        "div" => x[0] / x[1],
        "add_float" => c.Bool("float_first") ? c.Float("value") + x[0] : x[0] + c.Float("value"),
        "sub_float" => c.Bool("float_first") ? c.Float("value") - x[0] : x[0] - c.Float("value"),
        "mul_float" => c.Bool("float_first") ? c.Float("value") * x[0] : x[0] * c.Float("value"),
        "div_float" => c.Bool("float_first") ? c.Float("value") / x[0] : x[0] / c.Float("value"),
        "neg" => -x[0],
        "maximum" => Tensor.Maximum(x[0], x[1]),
        "pow" => x[0].Pow(x[1]),
        "pow_float" => x[0].Pow(c.Float("exponent")),
        "exp" => x[0].Exp(),
        "log" => x[0].Log(),
        "sqrt" => x[0].Sqrt(),
        "abs" => x[0].Abs(),
        "clamp" => x[0].Clamp(c.Float("min"), c.Float("max")),
        "square" => x[0].Square(),
        "sigmoid" => x[0].Sigmoid(),
        "tanh" => x[0].Tanh(),
        "relu" => x[0].Relu(),
        "leaky_relu" => x[0].LeakyRelu(c.Float("slope")),
        "sum" => x[0].Sum(),
        "mean" => x[0].Mean(),
        "max" => x[0].Max(),
        "sum_axis" => x[0].Sum(c.Int("axis"), c.Bool("keepdim")),
        "mean_axis" => x[0].Mean(c.Int("axis"), c.Bool("keepdim")),
        "max_axis" => x[0].Max(c.Int("axis"), c.Bool("keepdim")),
        "softmax" => x[0].Softmax(c.Int("axis")),
        "log_softmax" => x[0].LogSoftmax(c.Int("axis")),
        "matmul" => x[0].MatMul(x[1]),
        "reshape" => x[0].Reshape(c.Ints("shape")),
        "flatten" => x[0].Flatten(),
        "t" => x[0].T(),
        "transpose" => x[0].Transpose(c.Int("axis0"), c.Int("axis1")),
        "permute" => x[0].Permute(c.Ints("perm")),
        "rows" => x[0].Rows(c.Ints("indices")),
        "slice" => x[0].Slice(c.Int("start"), c.Int("count")),
        "x_times_x_plus_x" => x[0] * x[0] + x[0],
        "mlp2" => HalfMse(x[0].MatMul(x[1]).Sigmoid().MatMul(x[2]).Sigmoid(), x[3]),
        _ => throw new NotSupportedException($"torch_ops.json case '{c.Name}' uses op '{c.Op}', which this test does not know."),
    };

    /// <summary>Σ(o − y)² / (2·size), written with tensor ops (the seeds' loss).</summary>
    private static Tensor HalfMse(Tensor o, Tensor y) => (o - y).Square().Sum() / (2f * o.Size);
}
