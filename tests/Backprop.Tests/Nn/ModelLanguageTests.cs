using System.Text.Json.Nodes;
using Backprop.IO;
using Backprop.Nn;

namespace Backprop.Tests.Nn;

public sealed class ModelLanguageTests
{
    [Fact]
    public void ParseGivesEachTokenItsNameArgumentsAndColumnSpan()
    {
        var tokens = ModelLanguage.Parse("conv(32, 3,pad=1)-relu - Dense(10,bias=false)");
        Assert.Equal(["conv", "relu", "dense"], tokens.Select(t => t.Name));
        Assert.Equal(["conv(32, 3,pad=1)", "relu", "Dense(10,bias=false)"], tokens.Select(t => t.Text));
        Assert.Equal([1, 19, 26], tokens.Select(t => t.Column));
        Assert.Equal([17, 4, 20], tokens.Select(t => t.Length));
        Assert.Equal([new LayerArgument(null, "32", 5, 2), new LayerArgument(null, "3", 9, 1)], tokens[0].Positional);
        Assert.Equal([new LayerArgument("pad", "1", 11, 5)], tokens[0].Named);
        Assert.Empty(tokens[1].Positional);
        Assert.Equal([new LayerArgument("bias", "false", 34, 10)], tokens[2].Named);
    }

    [Fact]
    public void DenseInfersItsInputsFromTheRunningShape()
    {
        var model = ModelLanguage.Build("dense(8)-tanh-dense(3)", [4]);
        Assert.Equal(["Dense(4→8)", "Tanh", "Dense(8→3)"], model.Layers.Select(l => l.ToString()));
        Assert.Equal(4 * 8 + 8 + 8 * 3 + 3, model.ParameterCount());
        Assert.True(model.IsTraining);
    }

    [Fact]
    public void DropoutAndBatchNormTakeTheirSizeFromTheRunningShape()
    {
        var model = ModelLanguage.Build("dense(16)-batchnorm-relu-dropout(0.25)-dense(3)", [5], new Rng(2));
        Assert.Equal(["Dense(5→16)", "BatchNorm1d(16)", "ReLU", "Dropout(p=0.25)", "Dense(16→3)"], model.Layers.Select(l => l.ToString()));
        Assert.Equal(5 * 16 + 16 + 2 * 16 + 16 * 3 + 3, model.ParameterCount());
        Assert.Equal("dense(16)-batchnorm-relu-dropout(0.25)-dense(3)", ModelLanguage.Describe(model));
        var error = Assert.Throws<ModelSpecException>(() => ModelLanguage.Build("dropout(1)", [5]));
        Assert.Equal(9, error.Column);   // points at the argument that is out of range
    }

    [Fact]
    public void SameSeedGivesTheSameWeightsAsTheMlpShorthand()
    {
        var spec = ModelLanguage.Build("dense(8)-tanh-dense(3)", [4], new Rng(7));
        var mlp = Mlp.Create(4, [8], 3, "tanh", rng: new Rng(7));
        Assert.Equal(mlp.Parameters().Select(p => p.ToArray()), spec.Parameters().Select(p => p.ToArray()));
    }

    [Fact]
    public void ShapesAndParameterCountsFollowReshapesAndNamedArguments()
    {
        var model = ModelLanguage.Build("reshape(1,28,28)-reshape(784)-dense(128,bias=false)-leaky_relu(0.2)-dense(10)-softmax", [1, 28, 28]);
        Assert.Equal(["Reshape(1×28×28)", "Reshape(784)", "Dense(784→128, no bias)", "LeakyReLU(0.2)", "Dense(128→10)", "Softmax"],
            model.Layers.Select(l => l.ToString()));
        Assert.Equal(784 * 128 + 128 * 10 + 10, model.ParameterCount());
        var summary = ModelSummary.Of(model, [784]);
        Assert.Equal([[1, 28, 28], [784], [128], [128], [10], [10]], summary.Rows.Select(r => r.OutputShape.ToArray()));
        Assert.Equal(2L * 784 * 128 + 2L * 128 * 10 + 10, summary.TotalFlops);
    }

    [Fact]
    public void AnImageLayerFirstGetsAReshapeToTheSampleShape()
    {
        var model = ModelLanguage.Build("relu-conv(4,3)-flatten-dense(10)", [1, 28, 28]);
        Assert.Equal(["Reshape(1×28×28)", "ReLU", "Conv2d(1→4, 3×3)", "Flatten", "Dense(2704→10)"], model.Layers.Select(l => l.ToString()));
        Assert.Equal([1, 10], model.Forward(Tensor.Zeros(2, 784)).Shape.Skip(1).Prepend(1));
    }

    [Fact]
    public void AnExplicitReshapeFirstIsNotDoubled()
    {
        var model = ModelLanguage.Build("reshape(1,28,28)-conv(2,3,pad=1)", [784]);
        Assert.Equal(["Reshape(1×28×28)", "Conv2d(1→2, 3×3, pad 1)"], model.Layers.Select(l => l.ToString()));
    }

    [Fact]
    public void DenseAfterAnImageSaysToFlattenAndPointsAtTheToken()
    {
        var e = Assert.Throws<ModelSpecException>(() => ModelLanguage.Build("conv(32,3,pad=1)-relu-dense(10)", [1, 28, 28]));
        Assert.Equal(
            "model spec: dense(10) (column 23) needs a flat input [N, F] but gets [N, 32, 28, 28]; put flatten before it\n" +
            "  conv(32,3,pad=1)-relu-dense(10)\n" +
            "                        ^^^^^^^^^", e.Message);
        Assert.Equal((23, 9), (e.Column, e.Length));
    }

    [Theory]
    // spec, sample shape, reason, caret line
    [InlineData("dense(8)-rleu-dense(3)", "4", "unknown layer 'rleu' (column 10); did you mean relu? known layers: dense, relu, tanh, sigmoid, leaky_relu, softmax, log_softmax, identity, reshape, conv, maxpool, avgpool, flatten, dropout, batchnorm, embedding, layernorm, rmsnorm, rnn, lstm, gru, attention, gelu, gelu_tanh, silu, conv1d, convtranspose, upsample, globalavgpool",
        "           ^^^^")]
    [InlineData("dense(8)-frob", "4", "unknown layer 'frob' (column 10); known layers: dense, relu, tanh, sigmoid, leaky_relu, softmax, log_softmax, identity, reshape, conv, maxpool, avgpool, flatten, dropout, batchnorm, embedding, layernorm, rmsnorm, rnn, lstm, gru, attention, gelu, gelu_tanh, silu, conv1d, convtranspose, upsample, globalavgpool",
        "           ^^^^")]
    [InlineData("dense(8,9)", "4", "dense(8,9) (column 1) takes 1 positional argument (n) but got 2; write dense(n[,bias=false])",
        "          ^")]
    [InlineData("relu(2)", "4", "relu(2) (column 1) takes no positional arguments but got 1; write relu",
        "       ^")]
    [InlineData("dense(eight)", "4", "dense(eight) (column 1): n must be a whole number ≥ 1 but got 'eight'",
        "        ^^^^^")]
    [InlineData("tanh-leaky_relu(x)", "4", "leaky_relu(x) (column 6): slope must be a number but got 'x'",
        "                  ^")]
    [InlineData("dense(8,bias=no)", "4", "dense(8,bias=no) (column 1): bias must be true or false but got 'no'",
        "          ^^^^^^^")]
    [InlineData("dense(8,pad=1)", "4", "dense(8,pad=1) (column 1): unknown argument 'pad'; dense takes n, bias",
        "          ^^^^^")]
    [InlineData("dense", "4", "dense (column 1) needs its argument 'n'; write dense(n[,bias=false])",
        "  ^^^^^")]
    [InlineData("dense(n=3,n=4)", "4", "dense(n=3,n=4) (column 1): argument 'n' is given twice",
        "            ^^^")]
    [InlineData("dense(bias=false,3)", "4", "dense(bias=false,3) (column 1): positional argument '3' comes after a named one; put it first",
        "                   ^")]
    [InlineData("dense(8,)", "4", "dense(8,) (column 1): argument 2 is empty",
        "          ^")]
    [InlineData("dense(8-relu", "4", "dense (column 1) has '(' at column 6 without a matching ')'",
        "  ^^^^^^^^^^^^")]
    [InlineData("dense(8)x", "4", "expected '-' between layers at column 9 but found 'x'",
        "          ^")]
    [InlineData("dense(8)--relu", "4", "expected a layer name at column 10 but found '-'",
        "           ^")]
    [InlineData("dense(8)-", "4", "expected a layer name at column 10 but the spec ends; remove the trailing '-'",
        "           ^")]
    [InlineData("  ", "4", "the spec is empty; expected layers joined by '-', e.g. dense(64)-relu-dense(10)",
        "  ^")]
    [InlineData("reshape(2,2)-dense(3)", "4", "dense(3) (column 14) needs a flat input [N, F] but gets [N, 2, 2]; put flatten before it",
        "               ^^^^^^^^")]
    [InlineData("tanh-reshape(5,5)", "4", "reshape(5,5) (column 6) does not fit its input [N, 4]: Reshape(5×5) expected input [N, ...] with 25 values per example but got [1,4]",
        "       ^^^^^^^^^^^^")]
    public void EveryErrorNamesTheTokenAndPutsCaretsUnderIt(string spec, string shape, string reason, string carets)
    {
        var e = Assert.Throws<ModelSpecException>(() => ModelLanguage.Build(spec, [.. shape.Split('x').Select(int.Parse)]));
        Assert.Equal(reason, e.Reason);
        Assert.Equal($"  {spec}\n{carets}", e.Display);
        Assert.Equal($"model spec: {reason}\n  {spec}\n{carets}", e.Message);
        Assert.Equal(carets.IndexOf('^') - 1, e.Column);
        Assert.Equal(carets.Count(c => c == '^'), e.Length);
    }

    [Fact]
    public void ImageLayerWithoutAnImageShapeAsksForAReshape()
    {
        var e = Assert.Throws<ModelSpecException>(() => ModelLanguage.Build("dense(16)-conv(4,3)", [4]));
        Assert.Equal("conv(4,3) (column 11) needs an image input [N, C, H, W] but gets [N, 16]; put reshape(C,H,W) before it", e.Reason);
    }

    [Fact]
    public void ConstructorErrorsAreReportedAgainstTheToken()
    {
        // Conv2d rejects a kernel larger than the padded image in the dry run.
        var e = Assert.Throws<ModelSpecException>(() => ModelLanguage.Build("conv(4,30)", [1, 28, 28]));
        Assert.Equal("conv(4,30) (column 1) does not fit its input [N, 1, 28, 28]: Conv2d(1→4, 30×30) expected an image of at least 30×30 after padding but got [1,1,28,28]", e.Reason);
    }

    [Theory]
    [InlineData("mlp:64,32", true)]
    [InlineData(" mlp ", true)]
    [InlineData("MLP:", true)]
    [InlineData("mlpx", false)]
    [InlineData("dense(3)", false)]
    public void RecognisesTheMlpShorthand(string spec, bool expected) => Assert.Equal(expected, ModelLanguage.IsMlpShorthand(spec));

    [Theory]
    [InlineData("dense(8)-tanh-dense(3)", "dense(8)-tanh-dense(3)")]
    [InlineData("Dense( 8 , bias = false )-LEAKY_RELU-leaky_relu(0.25)-sigmoid-identity-softmax-relu()", "dense(8,bias=false)-leaky_relu-leaky_relu(0.25)-sigmoid-identity-softmax-relu")]
    [InlineData("reshape(2,2)-reshape(4)-dense(3)", "reshape(2,2)-reshape(4)-dense(3)")]
    public void DescribeWritesTheCanonicalSpecThatBuildsTheSameArchitecture(string spec, string canonical)
    {
        var model = ModelLanguage.Build(spec, [4]);
        Assert.Equal(canonical, ModelLanguage.Describe(model));
        var again = ModelLanguage.Build(canonical, [4]);
        Assert.Equal(model.ToSpec().ToJsonString(), again.ToSpec().ToJsonString());
    }

    [Fact]
    public void DescribeNamesALayerWithoutAToken()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelLanguage.Describe(new Sequential(new Dense(2, 2), new FakeConv(1, 1, 1, 0))));
        Assert.StartsWith("model spec: FakeConv(1→1, k1, pad0) (FakeConv) has no model-language token; known layers: dense,", e.Message);
    }

    [Fact]
    public void SummaryOfAnMlpSpecListsShapesParametersAndFlops()
    {
        var summary = ModelSummary.Of(ModelLanguage.Build("dense(8)-tanh-dense(3)", [4]), [4]);
        Assert.Equal(
            "model  dense(8)-tanh-dense(3)\n" +
            "input  [N, 4]\n" +
            "\n" +
            " #  layer       output  params  FLOPs\n" +
            " 0  Dense(4→8)  [N, 8]      40     72\n" +
            " 1  Tanh        [N, 8]       0      -\n" +
            " 2  Dense(8→3)  [N, 3]      27     51\n" +
            "    total                   67    123\n" +
            "\n" +
            "67 parameters; 0.000123 MFLOPs per example forward (dense and conv products; elementwise layers not counted)\n",
            summary.ToString());
        Assert.Equal([3], summary.OutputShape);
    }

    [Fact]
    public void ReshapeKeepsTheBatchAndPassesTheGradientBack()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f], 2, 4);
        x.RequiresGrad = true;
        var y = new Reshape(2, 2).Forward(x);
        Assert.Equal([2, 2, 2], y.Shape);
        Assert.Equal(x.ToArray(), y.ToArray());
        (y * Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2)).Sum().Backward();
        Assert.Equal([1f, 2f, 3f, 4f, 1f, 2f, 3f, 4f], x.Grad!.ToArray());
    }

    [Fact]
    public void ReshapeRejectsTheWrongSizeAndBadShapes()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => new Reshape(1, 28, 28).Forward(Tensor.Zeros(3, 785)));
        Assert.Equal("Reshape(1×28×28) expected input [N, ...] with 784 values per example but got [3,785].", e.Message);
        Assert.StartsWith("Reshape expected one or more positive sizes per example but got [2,0]", Assert.Throws<ArgumentException>(() => new Reshape(2, 0)).Message);
    }

    [Fact]
    public void ReshapeRoundTripsThroughItsSpecAndAModelFile()
    {
        var model = ModelLanguage.Build("reshape(2,2)-reshape(4)-dense(3)-softmax", [4], new Rng(3));
        Assert.Equal("""{"type":"Reshape","shape":[2,2]}""", model.Layers[0].ToSpec().ToJsonString());
        var path = Path.Combine(Path.GetTempPath(), $"backprop-reshape-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.Save(path);
            var (loaded, _) = ModelFile.Load(path);
            Assert.Equal("reshape(2,2)-reshape(4)-dense(3)-softmax", ModelLanguage.Describe(loaded));
            var x = Tensor.FromArray([0.5f, -1f, 2f, 0.25f, 1f, 1f, -3f, 0f], 2, 4);
            model.Eval();
            Assert.Equal(model.Forward(x).ToArray(), loaded.Forward(x).ToArray());
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void ModuleSpecRejectsAReshapeWithoutShape() =>
        Assert.Equal("Reshape spec has no \"shape\" array.",
            Assert.Throws<FormatException>(() => ModuleSpec.Create(new JsonObject { ["type"] = "Reshape" })).Message);

    /// <summary>A module the language has no token for (Conv2d's shape rule, all zeros).</summary>
    private sealed class FakeConv : Module
    {
        private readonly int inChannels, outChannels, kernel, pad;

        public FakeConv(int inChannels, int outChannels, int kernel, int pad, int height = int.MaxValue, int width = int.MaxValue)
        {
            if (kernel > height + 2 * pad || kernel > width + 2 * pad)
                throw new ArgumentException($"kernel {kernel} is larger than the padded image {height + 2 * pad}×{width + 2 * pad}.");
            (this.inChannels, this.outChannels, this.kernel, this.pad) = (inChannels, outChannels, kernel, pad);
        }

        public override Tensor Forward(Tensor input)
        {
            if (input.Rank != 4 || input.Shape[1] != inChannels)
                throw new ShapeMismatchException($"{this} expected [N, {inChannels}, H, W] but got rank {input.Rank}.");
            return Tensor.Zeros(input.Shape[0], outChannels, input.Shape[2] + 2 * pad - kernel + 1, input.Shape[3] + 2 * pad - kernel + 1);
        }

        public override JsonObject ToSpec() => new() { ["type"] = "FakeConv" };

        public override string ToString() => $"FakeConv({inChannels}→{outChannels}, k{kernel}, pad{pad})";
    }
}
