using System.Text.Json;
using System.Text.Json.Nodes;
using Backprop.Explain;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Tests.Golden;

namespace Backprop.Tests.Nn;

/// <summary>
/// Conv2d, MaxPool2d and AvgPool2d against PyTorch (values and every gradient, from <c>Golden/torch_conv.json</c>,
/// written by <c>tools/make_conv_reference.py</c>), finite differences, and the modules' descriptions, shape errors,
/// specs, parameter names and model files.
/// </summary>
public sealed class ConvTests
{
    private static readonly Lazy<JsonElement> Doc = new(() => GoldenFile.Load("torch_conv.json"));

    private static JsonElement Case(string list, string name) =>
        Doc.Value.GetProperty(list).EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    public static TheoryData<string> ConvCases() => [.. Doc.Value.GetProperty("conv").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    public static TheoryData<string> PoolCases() => [.. Doc.Value.GetProperty("pool").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    private static Tensor Load(JsonElement t, bool grad = false)
    {
        var shape = t.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var x = Tensor.FromArray(t.GetProperty("data").Floats(), shape);
        x.RequiresGrad = grad;
        return x;
    }

    private static GoldenTensor Expected(JsonElement t) => new(
        [.. t.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32())],
        [.. t.GetProperty("data").EnumerateArray().Select(e => e.GetDouble())]);

    [Theory]
    [MemberData(nameof(ConvCases))]
    public void Conv2dMatchesPyTorch(string name)
    {
        var c = Case("conv", name);
        var x = Load(c.GetProperty("input"), grad: true);
        var w = Load(c.GetProperty("weight"), grad: true);
        var b = c.GetProperty("bias").ValueKind == JsonValueKind.Null ? null : Load(c.GetProperty("bias"), grad: true);
        var y = x.Conv2d(w, b, c.GetProperty("stride").GetInt32(), c.GetProperty("padding").GetInt32());
        (y * Load(c.GetProperty("r"))).Sum().Backward();

        // Sums of ≤ 75 float32 products of values ~1: rounding stays below 1e-5 absolute.
        GoldenAssert.Close(Expected(c.GetProperty("output")), y, 1e-5, 1e-5, $"{name} output");
        GoldenAssert.Close(Expected(c.GetProperty("grad_input")), x.Grad!, 1e-5, 1e-5, $"{name} dX");
        // dW sums N·OH·OW products of x and r (up to ~100 terms of size ~1): 3e-5 absolute.
        GoldenAssert.Close(Expected(c.GetProperty("grad_weight")), w.Grad!, 1e-5, 3e-5, $"{name} dW");
        if (b is not null) GoldenAssert.Close(Expected(c.GetProperty("grad_bias")), b.Grad!, 1e-5, 3e-5, $"{name} db");
    }

    [Theory]
    [MemberData(nameof(PoolCases))]
    public void PoolingMatchesPyTorch(string name)
    {
        var c = Case("pool", name);
        var x = Load(c.GetProperty("input"), grad: true);
        int k = c.GetProperty("kernel").GetInt32(), s = c.GetProperty("stride").GetInt32();
        var y = c.GetProperty("kind").GetString() == "max" ? x.MaxPool2d(k, s) : x.AvgPool2d(k, s);
        (y * Load(c.GetProperty("r"))).Sum().Backward();
        GoldenAssert.Close(Expected(c.GetProperty("output")), y, 1e-6, 1e-6, $"{name} output");
        GoldenAssert.Close(Expected(c.GetProperty("grad_input")), x.Grad!, 1e-6, 1e-6, $"{name} dX");
    }

    [Fact]
    public void MaxPoolTiesRouteTheGradientToTheFirstMaxInRowMajorOrder()
    {
        // One 2×2 window whose four values are equal: all of dY goes to the top-left input.
        var x = Tensor.Full(3f, 1, 1, 2, 2).RequireGrad();
        x.MaxPool2d(2, 2).Sum().Backward();
        Assert.Equal([1f, 0f, 0f, 0f], x.Grad!.ToArray());
        // Two overlapping 3×3 windows (stride 1 over a 4×3 image) full of tied 5s: each routes to its own first.
        var y = Tensor.FromArray([1f, 5f, 1f, 5f, 1f, 5f, 0f, 5f, 0f, 0f, 0f, 0f], 1, 1, 4, 3).RequireGrad();
        y.MaxPool2d(3, 1).Sum().Backward();
        // Window rows 0–2 holds 5 at (0,1), (1,0), (1,2), (2,1): the first is (0,1). Window rows 1–3: (1,0) first.
        Assert.Equal([0f, 1f, 0f, 1f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f], y.Grad!.ToArray());
        // A NaN wins its window (it propagates, as in PyTorch) even when it is not the window's first element.
        var n = Tensor.FromArray([1f, float.NaN, 7f, 2f, 3f, 4f, 5f, 6f], 1, 1, 2, 4).RequireGrad();
        var pooled = n.MaxPool2d(2, 2);
        Assert.Equal([float.NaN, 7f], pooled.ToArray());
        (pooled * Tensor.FromArray([2f, 3f], 1, 1, 1, 2)).Sum().Backward();
        Assert.Equal([0f, 2f, 3f, 0f, 0f, 0f, 0f, 0f], n.Grad!.ToArray());
    }

    [Fact]
    public void FiniteDifferencesAgreeForConvAndPools()
    {
        var x = Tensor.RandomNormal([2, 2, 5, 6], 1);
        var w = Tensor.RandomNormal([3, 2, 3, 3], 2, std: 0.3f);
        var b = Tensor.RandomNormal([3], 3);
        Assert.True(GradCheck.Check(t => t[0].Conv2d(t[1], t[2], 2, 1), x, w, b).WorstRelativeError < 1e-2);
        Assert.True(GradCheck.Check(t => t[0].Conv2d(t[1], null, 1, 2), x, w).WorstRelativeError < 1e-2);
        // Values 0.25 apart: a step of 1e-2 never changes which input wins a window.
        var distinct = Tensor.FromArray([.. new Rng(4).Permutation(60).Select(i => i * 0.25f - 7f)], 1, 2, 5, 6);
        Assert.True(GradCheck.Check(t => t[0].MaxPool2d(3, 1), distinct).WorstRelativeError < 1e-3);
        Assert.True(GradCheck.Check(t => t[0].AvgPool2d(2, 2), x).WorstRelativeError < 1e-3);
    }

    [Fact]
    public void SecondBackwardThroughTheSameGraphGivesTheSameGradients()
    {
        // Backward keeps nothing between calls (col is rebuilt from X into pooled scratch): a second pass, after another
        // convolution has reused that scratch, must give the same gradients again.
        var x = Tensor.RandomNormal([2, 3, 6, 5], 5).RequireGrad();
        var w = Tensor.RandomNormal([4, 3, 3, 3], 6).RequireGrad();
        var loss = (x.Conv2d(w, null, 1, 1).Square()).Sum();
        loss.Backward();
        var (dx, dw) = (x.Grad!.ToArray(), w.Grad!.ToArray());
        x.ZeroGrad(); w.ZeroGrad();
        using (GradMode.NoGrad())   // rents the same-sized scratch buffers and fills them with other values
            _ = Tensor.RandomNormal([2, 3, 6, 5], 7).Conv2d(Tensor.RandomNormal([4, 3, 3, 3], 8), null, 1, 1);
        loss.Backward();
        Assert.Equal(dx, x.Grad!.ToArray());
        Assert.Equal(dw, w.Grad!.ToArray());
    }

    [Fact]
    public void ModulesDescribeThemselvesAndNameShapeErrors()
    {
        var conv = new Conv2d(1, 32, 3, padding: 1);
        Assert.Equal("Conv2d(1→32, 3×3, pad 1)", conv.ToString());
        Assert.Equal("Conv2d(3→8, 5×5, stride 2, no bias)", new Conv2d(3, 8, 5, stride: 2, bias: false).ToString());
        Assert.Equal("MaxPool2d(2×2)", new MaxPool2d(2).ToString());
        Assert.Equal("AvgPool2d(3×3, stride 1)", new AvgPool2d(3, 1).ToString());

        var e = Assert.Throws<ShapeMismatchException>(() => conv.Forward(Tensor.Zeros(64, 784)));
        Assert.Equal("Conv2d(1→32, 3×3, pad 1) expected input [N, 1, H, W] but got [64,784].", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => new Conv2d(1, 4, 5).Forward(Tensor.Zeros(2, 1, 4, 9)));
        Assert.Equal("Conv2d(1→4, 5×5) expected an image of at least 5×5 after padding but got [2,1,4,9].", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => new MaxPool2d(2).Forward(Tensor.Zeros(2, 1, 1, 9)));
        Assert.Equal("MaxPool2d(2×2) expected an image of at least 2×2 but got [2,1,1,9].", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => Tensor.Zeros(2, 3, 5, 5).Conv2d(Tensor.Zeros(4, 2, 3, 3)));
        Assert.Equal("conv2d: expected input [N, 2, H, W] for weight [4,2,3,3] but got [2,3,5,5].", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2d(1, 4, 3, stride: 0));
    }

    [Fact]
    public void ConvOutputSizeFollowsTheFormula()
    {
        // OH = (H + 2·pad − KH)/stride + 1: (28 + 2 − 3)/1 + 1 = 28; (9 + 2 − 3)/2 + 1 = 5; (10 − 5)/2 + 1 = 3.
        Assert.Equal([2, 8, 28, 28], new Conv2d(1, 8, 3, padding: 1).Forward(Tensor.Zeros(2, 1, 28, 28)).Shape);
        Assert.Equal([1, 2, 5, 4], new Conv2d(3, 2, 3, stride: 2, padding: 1).Forward(Tensor.Zeros(1, 3, 9, 7)).Shape);
        Assert.Equal([1, 1, 3, 2], new MaxPool2d(5, 2).Forward(Tensor.Zeros(1, 1, 10, 8)).Shape);
        Assert.Equal([3, 60], new Flatten().Forward(Tensor.Zeros(3, 4, 3, 5)).Shape);
    }

    [Fact]
    public void ParametersAreNamedAndInitialisedAsPyTorch()
    {
        var model = new Sequential(new Conv2d(2, 4, 3, rng: new Rng(1)), new Relu(), new MaxPool2d(2), new Flatten(), new Dense(4, 3));
        Assert.Equal(["0.weight", "0.bias", "4.weight", "4.bias"], model.NamedParameters().Select(p => p.Name));
        var w = model.NamedParameters().First().Parameter;
        Assert.Equal([4, 2, 3, 3], w.Shape);
        // U(±1/√fan_in), fan_in = 2·3·3 = 18: all within the bound, and spread out to near it.
        float bound = 1f / MathF.Sqrt(18f);
        var values = w.ToArray().Concat(model.NamedParameters().ElementAt(1).Parameter.ToArray()).ToArray();
        Assert.All(values, v => Assert.InRange(v, -bound, bound));
        Assert.True(values.Max() > 0.8f * bound && values.Min() < -0.8f * bound);
    }

    [Fact]
    public void CnnSavesAndLoadsThroughModelFile()
    {
        var model = new Sequential(new Conv2d(1, 3, 3, padding: 1, rng: new Rng(2)), new Relu(), new MaxPool2d(2),
            new Conv2d(3, 2, 3, stride: 2, bias: false, rng: new Rng(3)), new AvgPool2d(2, 1), new Flatten(), new Dense(2, 4, rng: new Rng(4)));
        var rebuilt = ModuleSpec.Create(JsonNode.Parse(model.ToSpec().ToJsonString()));
        Assert.Equal(model.ToString(), rebuilt.ToString());
        var path = Path.Combine(Path.GetTempPath(), $"cnn-{Guid.NewGuid():N}.bpm");
        try
        {
            model.Save(path);
            var (loaded, _) = ModelFile.Load(path);
            var x = Tensor.RandomNormal([2, 1, 10, 10], 9);
            using (GradMode.NoGrad())
                Assert.Equal(model.Forward(x).ToArray(), loaded.Forward(x).ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void StepTraceRejectsConvModelsByName()
    {
        var model = new Sequential(new Conv2d(1, 2, 3), new Relu(), new Flatten(), new Dense(8, 2));
        var t = Assert.Throws<ArgumentException>(() => StepTrace.ForModel(model, Tensor.Zeros(1, 1, 4, 4), Tensor.Zeros(1, 2)));
        Assert.Contains("Conv2d(1→2, 3×3)", t.Message);
    }
}
