using Backprop.Explain;
using Backprop.Tests.Golden;

namespace Backprop.Tests.Autograd;

/// <summary>
/// Every case of <c>Golden/torch_tensor_api.json</c> (the wider tensor API: joining, axis ops, masks, integer
/// indexing, sorting, statistics, einsum, elementwise functions, smooth activations, vector and batched matmul):
/// values and gradients against PyTorch with the tolerances of <see cref="TorchReferenceTests"/>, and the same
/// function's gradient against central differences.
/// </summary>
public sealed class TensorApiReferenceTests
{
    public static TheoryData<string> Cases => [.. TorchReference.TensorApi.Select(c => c.Name)];

    [Fact]
    public void ReferenceFileCoversEveryNewOp()
    {
        var ops = TorchReference.TensorApi.Select(c => c.Op).ToHashSet();
        string[] expected =
        [
            "concat", "stack", "split", "split_sizes", "chunk", "narrow", "select", "squeeze", "unsqueeze", "expand", "repeat",
            "where", "masked_fill", "gather", "index_select", "scatter_add", "sort", "topk", "min_axis", "min", "cumsum", "var",
            "var_all", "std", "logsumexp", "einsum", "sin", "cos", "log1p", "expm1", "rsqrt", "gelu", "silu", "softplus", "elu", "matmul",
        ];
        Assert.Empty(expected.Except(ops));
        Assert.Empty(ops.Except(expected));
        Assert.Equal(TorchReference.TensorApi.Count, TorchReference.TensorApi.Select(c => c.Name).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ValuesAndGradientsMatchPyTorch(string name) =>
        GoldenAssert.MatchesTorch(TorchReference.TensorApi.Single(x => x.Name == name), Apply);

    [Theory]
    [MemberData(nameof(Cases))]
    public void GradientsMatchFiniteDifferences(string name)
    {
        var c = TorchReference.TensorApi.Single(x => x.Name == name);
        var constants = c.Inputs.Select(i => i.ToTensor()).ToArray();
        var differentiable = Enumerable.Range(0, c.Inputs.Length).Where(i => c.Inputs[i].Grad).ToArray();
        if (c.Name.EndsWith("_tiny", StringComparison.Ordinal)) return;   // |x| ~ 1e-7: a float32 step cannot resolve it
        var result = GradCheck.Check(t =>
        {
            var all = (Tensor[])constants.Clone();
            for (int k = 0; k < differentiable.Length; k++) all[differentiable[k]] = t[k];
            return Apply(c, all);
        }, [.. differentiable.Select(i => constants[i].Clone().RequireGrad())]);
        Assert.True(result.WorstRelativeError < 1e-2, $"{name}: {result}");
    }

    /// <summary>The Backprop call for each op name the generator writes.</summary>
    internal static Tensor Apply(GoldenCase c, Tensor[] x) => c.Op switch
    {
        "concat" => Tensor.Concat(x, c.Int("axis")),
        "stack" => Tensor.Stack(x, c.Int("axis")),
        "split" => x[0].Split(c.Int("size"), c.Int("axis"))[c.Int("piece")],
        "split_sizes" => x[0].Split(c.Ints("sizes"), c.Int("axis"))[c.Int("piece")],
        "chunk" => x[0].Chunk(c.Int("chunks"), c.Int("axis"))[c.Int("piece")],
        "narrow" => x[0].Narrow(c.Int("axis"), c.Int("start"), c.Int("length")),
        "select" => x[0].Select(c.Int("axis"), c.Int("index")),
        "squeeze" => x[0].Squeeze(c.Int("axis")),
        "unsqueeze" => x[0].Unsqueeze(c.Int("axis")),
        "expand" => x[0].Expand(c.Ints("shape")),
        "repeat" => x[0].Repeat(c.Ints("repeats")),
        "where" => Tensor.Where(MaskOf(c), x[0], x[1]),
        "masked_fill" => x[0].MaskedFill(MaskOf(c), c.Float("value")),
        "gather" => x[0].Gather(c.Int("axis"), IntTensor.FromArray(c.Ints("index"), c.Ints("index_shape"))),
        "index_select" => x[0].IndexSelect(c.Int("axis"), IntTensor.FromArray(c.Ints("indices"))),
        "scatter_add" => x[0].ScatterAdd(c.Int("axis"), IntTensor.FromArray(c.Ints("index"), c.Ints("index_shape")), x[1]),
        "sort" => x[0].Sort(c.Int("axis"), c.Bool("descending")).Values,
        "topk" => x[0].TopK(c.Int("k"), c.Int("axis"), c.Bool("largest")).Values,
        "min_axis" => x[0].Min(c.Int("axis")),
        "min" => x[0].Min(),
        "cumsum" => x[0].CumSum(c.Int("axis")),
        "var" => x[0].Var(c.Int("axis"), c.Int("correction"), c.Bool("keepdim")),
        "var_all" => x[0].Var(),
        "std" => x[0].Std(c.Int("axis"), c.Int("correction"), c.Bool("keepdim")),
        "logsumexp" => x[0].LogSumExp(c.Int("axis"), c.Bool("keepdim")),
        "einsum" => Tensor.Einsum(c.Args["equation"].GetString()!, x),
        "sin" => x[0].Sin(),
        "cos" => x[0].Cos(),
        "log1p" => x[0].Log1p(),
        "expm1" => x[0].Expm1(),
        "rsqrt" => x[0].Rsqrt(),
        "gelu" => x[0].Gelu(c.Bool("tanh")),
        "silu" => x[0].Silu(),
        "softplus" => x[0].Softplus(c.Float("beta"), c.Float("threshold")),
        "elu" => x[0].Elu(c.Float("alpha")),
        "matmul" => x[0].MatMul(x[1]),
        _ => throw new InvalidOperationException($"no Backprop call for op '{c.Op}' (case {c.Name})"),
    };

    private static Mask MaskOf(GoldenCase c) =>
        Mask.FromArray([.. c.Args["mask"].EnumerateArray().Select(e => e.GetBoolean())], c.Ints("mask_shape"));
}
