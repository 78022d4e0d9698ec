using System.Text.Json.Nodes;
using Backprop.Explain;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Tests.Nn;

/// <summary>
/// ConvTranspose2d and Upsample beyond the PyTorch goldens (ZooReferenceTests): finite differences through the
/// modules, the transposed convolution as the adjoint of conv2d, output sizes, error messages, specs, model files and
/// the model language.
/// </summary>
public sealed class DecoderLayerTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-decoder-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    public static TheoryData<string> Modules() => ["convtranspose s2 p1 op1", "convtranspose k4 s3 no bias", "upsample nearest", "upsample bilinear"];

    private static (Module Module, Tensor Input) Make(string name)
    {
        var rng = new Rng(11);
        return name switch
        {
            "convtranspose s2 p1 op1" => (new ConvTranspose2d(3, 2, 3, stride: 2, padding: 1, outputPadding: 1, rng: rng), Tensor.RandomNormal([2, 3, 3, 4], rng)),
            "convtranspose k4 s3 no bias" => (new ConvTranspose2d(2, 3, 4, stride: 3, outputPadding: 2, bias: false, rng: rng), Tensor.RandomNormal([1, 2, 2, 3], rng)),
            "upsample nearest" => (new Upsample(3), Tensor.RandomNormal([2, 2, 2, 3], rng)),
            "upsample bilinear" => (new Upsample(2, UpsampleMode.Bilinear), Tensor.RandomNormal([2, 2, 3, 4], rng)),
            _ => throw new ArgumentException(name),
        };
    }

    [Theory]
    [MemberData(nameof(Modules))]
    public void Module_gradients_match_finite_differences(string name)
    {
        var (module, input) = Make(name);
        var result = GradCheck.Check(x => module.Forward(x[0]), [input, .. module.Parameters()]);
        Assert.True(result.WorstRelativeError < 1e-2, result.ToString());
    }

    [Theory]
    [InlineData(1, 0, 0)]
    [InlineData(2, 1, 1)]
    [InlineData(3, 0, 2)]
    [InlineData(2, 2, 0)]
    public void Transposed_convolution_is_the_adjoint_of_convolution(int stride, int padding, int outputPadding)
    {
        // <conv2d(Y, W), X> = <Y, conv_transpose2d(X, W)> for every X, Y: the defining property, independent of PyTorch.
        var rng = new Rng(3);
        var w = Tensor.RandomNormal([3, 2, 3, 3], rng);                    // conv2d: 2 → 3 channels; transposed: 3 → 2
        var x = Tensor.RandomNormal([2, 3, 4, 5], rng);
        var up = Tensor.ConvTranspose2d(x, w, null, stride, padding, outputPadding);
        Assert.Equal([2, 2, (4 - 1) * stride - 2 * padding + 3 + outputPadding, (5 - 1) * stride - 2 * padding + 3 + outputPadding], up.Shape);
        var y = Tensor.RandomNormal([.. up.Shape], rng);
        var down = Tensor.Conv2d(y, w, null, stride, padding);
        Assert.Equal(x.Shape, down.Shape);
        float lhs = (down * x).Sum().Item(), rhs = (y * up).Sum().Item();
        Assert.Equal(lhs, rhs, Math.Abs(lhs) * 1e-5f + 1e-4f);
    }

    [Fact]
    public void The_bias_is_added_once_per_output_pixel()
    {
        var layer = new ConvTranspose2d(1, 2, 2, stride: 2);
        layer.Weight.AsSpan().Clear();
        layer.Bias!.AsSpan()[0] = 0.5f;
        layer.Bias!.AsSpan()[1] = -2f;
        var y = layer.Forward(Tensor.Ones(1, 1, 2, 2));
        Assert.All(y.ToArray()[..16], v => Assert.Equal(0.5f, v));
        Assert.All(y.ToArray()[16..], v => Assert.Equal(-2f, v));
    }

    [Fact]
    public void Nearest_upsampling_repeats_each_pixel_and_keeps_infinities()
    {
        var x = Tensor.FromArray([1f, float.PositiveInfinity, 3f, 4f], 1, 1, 2, 2);
        Assert.Equal([1f, 1f, float.PositiveInfinity, float.PositiveInfinity, 1f, 1f, float.PositiveInfinity, float.PositiveInfinity,
                      3f, 3f, 4f, 4f, 3f, 3f, 4f, 4f], new Upsample(2).Forward(x).ToArray());
    }

    [Fact]
    public void Wrong_inputs_name_the_layer_and_what_arrived()
    {
        Assert.Equal("ConvTranspose2d(3→2, 3×3, stride 2) expected input [N, 3, H, W] but got [2,4,5,5].",
            Assert.Throws<ShapeMismatchException>(() => new ConvTranspose2d(3, 2, 3, stride: 2).Forward(Tensor.Zeros(2, 4, 5, 5))).Message);
        Assert.Equal("Upsample(×2, nearest) expected input [N, C, H, W] but got [2,5].",
            Assert.Throws<ShapeMismatchException>(() => new Upsample(2).Forward(Tensor.Zeros(2, 5))).Message);
        Assert.StartsWith("conv_transpose2d: output padding must be at least 0 and below the stride 2 but got 2.",
            Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.ConvTranspose2d(Tensor.Zeros(1, 1, 2, 2), Tensor.Zeros(1, 1, 3, 3), null, 2, 0, 2)).Message);
        Assert.StartsWith("conv_transpose2d: input [1,1,1,1] with a 3×3 kernel, stride 1 and padding 2 gives an empty -1×-1 output; lower the padding.",
            Assert.Throws<ShapeMismatchException>(() => Tensor.ConvTranspose2d(Tensor.Zeros(1, 1, 1, 1), Tensor.Zeros(1, 1, 3, 3), null, 1, 2)).Message);
        Assert.Equal("conv_transpose2d: expected bias [4] for weight [2,4,3,3] but got [2].",
            Assert.Throws<ShapeMismatchException>(() => Tensor.ConvTranspose2d(Tensor.Zeros(1, 2, 2, 2), Tensor.Zeros(2, 4, 3, 3), Tensor.Zeros(2))).Message);
    }

    [Fact]
    public void Pytorch_parameter_names_and_layout()
    {
        var layer = new ConvTranspose2d(16, 8, 3, stride: 2, padding: 1, outputPadding: 1);
        Assert.Equal([("weight", "16,8,3,3"), ("bias", "8")], layer.NamedParameters().Select(p => (p.Name, string.Join(",", p.Parameter.Shape))));
        // PyTorch's init bound 1/√(OC·k²) for this layout.
        float bound = 1f / MathF.Sqrt(8 * 9);
        Assert.All(layer.Weight.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.True(layer.Weight.ToArray().Max() > 0.8f * bound);
        Assert.Equal(14, layer.OutputSize(7));
    }

    public static TheoryData<string> SpecLayers() => ["convtranspose", "convtranspose no bias", "upsample", "upsample bilinear"];

    private static Module SpecLayer(string name) => name switch
    {
        "convtranspose" => new ConvTranspose2d(4, 2, 3, stride: 2, padding: 1, outputPadding: 1),
        "convtranspose no bias" => new ConvTranspose2d(3, 5, 2, bias: false),
        "upsample" => new Upsample(2),
        "upsample bilinear" => new Upsample(3, UpsampleMode.Bilinear),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(SpecLayers))]
    public void Specs_rebuild_the_same_layer(string name)
    {
        var layer = SpecLayer(name);
        var rebuilt = ModuleSpec.Create(JsonNode.Parse(layer.ToSpec().ToJsonString()));
        Assert.Equal(layer.ToString(), rebuilt.ToString());
        Assert.Equal(layer.ToSpec().ToJsonString(), rebuilt.ToSpec().ToJsonString());
        Assert.Equal(layer.NamedParameters().Select(p => (p.Name, string.Join(",", p.Parameter.Shape))),
            rebuilt.NamedParameters().Select(p => (p.Name, string.Join(",", p.Parameter.Shape))));
    }

    [Fact]
    public void A_model_file_restores_a_decoder()
    {
        var model = ModelLanguage.Build("conv(4,3,stride=2,pad=1)-relu-convtranspose(2,3,stride=2,pad=1,outpad=1)-upsample(2,bilinear)-conv(1,3,pad=1)-sigmoid", [1, 8, 8], new Rng(4));
        var path = Path.Combine(dir, "decoder.safetensors");
        model.Save(path);
        var (loaded, _) = ModelFile.Load(path);
        var x = Tensor.RandomNormal([3, 64], new Rng(5));
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        Assert.Equal(ModelLanguage.Describe(model), ModelLanguage.Describe(loaded));
    }

    [Theory]
    [InlineData("conv(8,3,stride=2,pad=1)-convtranspose(4,3,stride=2,pad=1,outpad=1)-convtranspose(1,2,bias=false)-upsample(2)-upsample(3,bilinear)")]
    [InlineData("convtranspose(2,3)")]
    public void Specs_describe_back_to_the_same_text(string spec)
    {
        var model = ModelLanguage.Build(spec, [1, 6, 6], new Rng(1));
        Assert.Equal("reshape(1,6,6)-" + spec, ModelLanguage.Describe(model));   // the rows of a dataset become images first
    }

    [Fact]
    public void Tokens_build_the_layers_with_inferred_sizes_and_summaries_count_them()
    {
        var model = ModelLanguage.Build("conv(16,3,stride=2,pad=1)-convtranspose(8,3,stride=2,pad=1,outpad=1)-upsample(2)", [1, 28, 28]);
        Assert.Equal("ConvTranspose2d(16→8, 3×3, stride 2, pad 1, output pad 1)", model.Layers[2].ToString());
        Assert.Equal("Upsample(×2, nearest)", model.Layers[3].ToString());
        var summary = ModelSummary.Of(model, [784]);
        Assert.Equal([8, 56, 56], summary.OutputShape);
        Assert.Equal(16 * 8 * 9 + 8, summary.Rows[2].Parameters);
        Assert.Equal(2L * 16 * 8 * 9 * 14 * 14, summary.Rows[2].Flops);
    }

    [Theory]
    [InlineData("convtranspose(4,3)", "12", "convtranspose(4,3) (column 1) needs an image input [N, C, H, W] but gets [N, 12]; put reshape(C,H,W) before it")]
    [InlineData("reshape(1,3,4)-convtranspose(4,3,stride=2,outpad=2)", "12", "convtranspose(4,3,stride=2,outpad=2) (column 16) cannot be built for input [N, 1, 3, 4]")]
    [InlineData("reshape(1,3,4)-upsample(0)", "12", "upsample(0) (column 16): scale must be a whole number ≥ 1 but got '0'")]
    [InlineData("reshape(1,3,4)-upsample(2,bicubic)", "12", "upsample(2,bicubic) (column 16) takes 1 positional argument (scale) but got 2; write upsample(scale[,bilinear])")]
    public void Token_errors_point_at_the_token(string spec, string input, string message)
    {
        var e = Assert.Throws<ModelSpecException>(() => ModelLanguage.Build(spec, [int.Parse(input, System.Globalization.CultureInfo.InvariantCulture)]));
        Assert.Contains(message, e.Message);
    }
}
