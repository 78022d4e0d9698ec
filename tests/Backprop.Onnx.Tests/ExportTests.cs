using Backprop.Data;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Onnx.Proto;
using Backprop.Training;

namespace Backprop.Onnx.Tests;

/// <summary>
/// Exported models run in ONNX Runtime and give Backprop's own outputs on the same inputs, at several batch sizes
/// through the one file (the batch is dynamic), and each file passes the structural check.
/// </summary>
public sealed class ExportTests
{
    private static readonly int[] BatchSizes = [1, 2, 7, 33];
    private static int dumped;

    // ONNX Runtime's outputs against Backprop's Predict on `prepare(raw)`, for each batch size.
    private static OnnxModel CheckAgainstRuntime(Module model, ModelInfo? info, int[] sample, float tolerance,
        Func<Tensor, Tensor>? prepare = null, Func<Tensor, Tensor>? finish = null, float scale = 1f,
        [System.Runtime.CompilerServices.CallerMemberName] string test = "")
    {
        var bytes = OnnxExport.ToBytes(model, info, sample);
        // For checking the files with other tools (python3 -c "import onnx; onnx.checker.check_model(...)").
        if (Environment.GetEnvironmentVariable("BACKPROP_ONNX_DUMP") is { Length: > 0 } dump)
            File.WriteAllBytes(Path.Combine(dump, $"{test}-{Interlocked.Increment(ref dumped)}.onnx"), bytes);
        var proto = OnnxStructure.Check(bytes);
        foreach (int n in BatchSizes)
        {
            var raw = ModelAssert.Batch(n, sample, seed: 100 + n, scale);
            var expected = model.Predict(prepare?.Invoke(raw) ?? raw);
            expected = finish?.Invoke(expected) ?? expected;
            var (actual, shape) = OnnxRuntimeRunner.Run(bytes, raw.ToArray(), [n, .. sample]);
            Assert.Equal(expected.Shape, shape);
            ModelAssert.Close(expected.AsSpan(), actual, tolerance);
        }
        return proto;
    }

    [Fact]
    public void MlpWithStandardizationTakesRawFeatures()
    {
        Init.ManualSeed(1);
        var model = new Sequential(new Dense(4, 16), new Relu(), new Dense(16, 8), new Tanh(), new Dropout(0.3f),
            new Dense(8, 3, bias: false), new Sigmoid(), new Identity());
        float[] mean = [5.8f, 3.0f, 3.7f, 1.2f], std = [0.8f, 0.4f, 1.7f, 0.7f];
        var info = new ModelInfo { FeatureNames = ["a", "b", "c", "d"], InputMean = mean, InputStd = std };
        var standardizer = new Standardizer(mean, std);

        var proto = CheckAgainstRuntime(model, info, [4], 1e-5f, standardizer.Transform, scale: 3f);

        Assert.Equal(["/Sub", "/Div", "/0/Gemm", "/1/Relu", "/2/Gemm", "/3/Tanh", "/5/Gemm", "/6/Sigmoid"], proto.Graph.Nodes.Select(n => n.Name));
        Assert.Equal(["input_mean", "input_std", "0.weight", "0.bias", "2.weight", "2.bias", "5.weight"], proto.Graph.Initializers.Select(t => t.Name));
        Assert.Equal(0, proto.Graph.Nodes[2].Attribute("transB")!.I);
        Assert.Equal([4L, 16L], proto.Graph.Initializers[2].Dims);
        Assert.Equal("output", proto.Graph.Nodes[^1].Outputs[0]);
        Assert.Contains("\"feature_names\":[\"a\",\"b\",\"c\",\"d\"]", proto.Metadata["backprop.info"]);
    }

    [Fact]
    public void CnnMatchesAtEveryBatchSize()
    {
        Init.ManualSeed(2);
        var model = new Sequential(new Conv2d(1, 4, 3, padding: 1), new Relu(), new MaxPool2d(2),
            new Conv2d(4, 6, 3, stride: 2), new Relu(), new Flatten(), new Dense(6 * 2 * 2, 5));

        var proto = CheckAgainstRuntime(model, null, [1, 12, 12], 1e-5f);

        var conv = proto.Graph.Nodes.Single(n => n.Name == "/3/Conv");
        Assert.Equal([3L, 3L], conv.Attribute("kernel_shape")!.Ints);
        Assert.Equal([2L, 2L], conv.Attribute("strides")!.Ints);
        Assert.Equal([1L, 1L, 1L, 1L], proto.Graph.Nodes.Single(n => n.Name == "/0/Conv").Attribute("pads")!.Ints);
        Assert.Equal([2L, 2L], proto.Graph.Nodes.Single(n => n.OpType == "MaxPool").Attribute("strides")!.Ints);
        Assert.Equal([1L, 12L, 12L], proto.Graph.Inputs[0].Shape!.Skip(1).Select(d => d.Value!.Value));
        Assert.Equal([5L], proto.Graph.Outputs[0].Shape!.Skip(1).Select(d => d.Value!.Value));
    }

    [Fact]
    public void DecoderWithTransposedConvolutionAndUpsamplingMatches()
    {
        Init.ManualSeed(3);
        var model = new Sequential(new Conv2d(1, 4, 3, stride: 2, padding: 1), new Relu(),
            new ConvTranspose2d(4, 3, 3, stride: 2, padding: 1, outputPadding: 1), new Relu(), new Upsample(2),
            new ConvTranspose2d(3, 2, 2, stride: 1, bias: false), new Upsample(3, UpsampleMode.Bilinear), new Sigmoid());

        var proto = CheckAgainstRuntime(model, null, [1, 6, 8], 1e-5f);

        Assert.Equal(["Conv", "Relu", "ConvTranspose", "Relu", "Resize", "ConvTranspose", "Resize", "Sigmoid"], proto.Graph.Nodes.Select(n => n.OpType));
        var up = proto.Graph.Nodes.Single(n => n.Name == "/2/ConvTranspose");
        Assert.Equal([1L, 1L], up.Attribute("output_padding")!.Ints);
        Assert.Equal([4L, 3L, 3L, 3L], proto.Graph.Initializers.Single(t => t.Name == "2.weight").Dims);
        Assert.Equal([2L, 39L, 51L], proto.Graph.Outputs[0].Shape!.Skip(1).Select(d => d.Value!.Value));
    }

    [Fact]
    public void BatchNormLeakyReluSoftmaxAndReshapeMatch()
    {
        Init.ManualSeed(3);
        var bn2 = new BatchNorm2d(4);
        var bn1 = new BatchNorm1d(10, eps: 1e-3f, momentum: 0.05f);
        var model = new Sequential(new Reshape(2, 6, 6), new Conv2d(2, 4, 3), bn2, new LeakyRelu(0.2f), new AvgPool2d(2),
            new Flatten(), new Dense(16, 10), bn1, new Sigmoid(), new Dense(10, 4), new Softmax());
        // Running statistics unlike the initial 0 and 1, so a swapped mean and variance would show.
        Fill(bn2.RunningMean, i => 0.3f * i - 0.4f); Fill(bn2.RunningVar, i => 0.5f + 0.25f * i);
        Fill(bn2.Weight!, i => 1.5f - 0.2f * i); Fill(bn2.Bias!, i => 0.1f * i);
        Fill(bn1.RunningMean, i => 0.05f * i - 0.2f); Fill(bn1.RunningVar, i => 0.6f + 0.1f * i);

        var proto = CheckAgainstRuntime(model, null, [72], 1e-5f);

        var norms = proto.Graph.Nodes.Where(n => n.OpType == "BatchNormalization").ToList();
        Assert.Equal(["/2/BatchNormalization", "/7/BatchNormalization"], norms.Select(n => n.Name));
        Assert.Equal(0.9f, norms[0].Attribute("momentum")!.F, 6);    // ONNX weighs the old value: 1 − PyTorch's 0.1
        Assert.Equal(0.95f, norms[1].Attribute("momentum")!.F, 6);
        Assert.Equal(1e-3f, norms[1].Attribute("epsilon")!.F);
        Assert.Equal(["2.weight", "2.bias", "2.running_mean", "2.running_var"], norms[0].Inputs.Skip(1));
        Assert.Equal([-1L, 2L, 6L, 6L], proto.Graph.Initializers.Single(t => t.Name == "/0/Constant_output_0").Int64s!);
        Assert.Equal(0.2f, proto.Graph.Nodes.Single(n => n.OpType == "LeakyRelu").Attribute("alpha")!.F);
        Assert.Equal(-1, proto.Graph.Nodes.Single(n => n.OpType == "Softmax").Attribute("axis")!.I);
        Assert.DoesNotContain(proto.Graph.Initializers, t => t.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal));
    }

    [Fact]
    public void BatchNormWithoutAffineGetsUnitScaleAndZeroShift()
    {
        Init.ManualSeed(4);
        var bn = new BatchNorm1d(3, affine: false);
        Fill(bn.RunningMean, i => i - 1f); Fill(bn.RunningVar, i => 2f + i);
        var model = new Sequential(new Dense(5, 3), bn, new Tanh());
        var proto = CheckAgainstRuntime(model, null, [5], 1e-5f);
        Assert.Equal([1f, 1f, 1f], proto.Graph.Initializers.Single(t => t.Name == "/1/scale").Floats!);
        Assert.Equal([0f, 0f, 0f], proto.Graph.Initializers.Single(t => t.Name == "/1/shift").Floats!);
    }

    [Fact]
    public void BatchNorm1dOverSequencesMatchesAndRoundTrips()
    {
        Init.ManualSeed(9);
        var bn = new BatchNorm1d(3);
        Fill(bn.RunningMean, i => i * 0.5f); Fill(bn.RunningVar, i => 1f + i);
        var model = new Sequential(new Reshape(3, 4), bn, new Flatten(), new Dense(12, 2));   // BatchNorm1d on [N, C, L]
        var bytes = OnnxExport.ToBytes(model, null, [12]);
        CheckAgainstRuntime(model, null, [12], 1e-5f);

        var (back, _) = OnnxImport.Read(bytes);
        Assert.Equal("Sequential(Reshape(3×4) → BatchNorm1d(3) → Flatten → Dense(12→2))", back.ToString());
        var x = ModelAssert.Batch(5, [12], seed: 9);
        Assert.Equal(model.Predict(x).ToArray(), back.Predict(x).ToArray());
    }

    [Fact]
    public void DeepTanhNetworkMatchesWithin1e4()
    {
        Init.ManualSeed(5);
        var layers = new List<Module> { new Dense(20, 64), new Tanh() };
        for (int i = 0; i < 10; i++) layers.AddRange([new Dense(64, 64), new LeakyRelu(0.05f)]);
        layers.Add(new Dense(64, 10));
        var model = new Sequential(new Sequential([.. layers]), new Softmax());

        var proto = CheckAgainstRuntime(model, null, [20], 1e-4f);

        Assert.Equal("/0/0/Gemm", proto.Graph.Nodes[0].Name);   // nested Sequentials: paths as torch.onnx writes them
        Assert.Equal("0.0.weight", proto.Graph.Initializers[0].Name);
        Assert.Equal("/1/Softmax", proto.Graph.Nodes[^1].Name);
    }

    [Fact]
    public void RegressionOutputsComeBackInTheTargetsUnits()
    {
        Init.ManualSeed(6);
        var model = new Sequential(new Dense(3, 8), new Relu(), new Dense(8, 2));
        float[] mean = [1f, -2f, 0.5f], std = [2f, 0.5f, 1.5f], tMean = [100f, -3f], tStd = [25f, 0.1f];
        var info = new ModelInfo { InputMean = mean, InputStd = std, TargetMean = tMean, TargetStd = tStd };
        var standardizer = new Standardizer(mean, std);

        var proto = CheckAgainstRuntime(model, info, [3], 1e-4f, standardizer.Transform,
            z => Preprocessing.Unstandardize(z, tMean, tStd), scale: 2f);

        Assert.Equal(["/Mul", "/Add"], proto.Graph.Nodes.TakeLast(2).Select(n => n.Name));
    }

    [Fact]
    public void ModelOfOneLayerAndModelOfNoComputationExport()
    {
        Init.ManualSeed(7);
        var dense = new Dense(3, 2);
        var proto = CheckAgainstRuntime(dense, null, [3], 1e-5f);
        Assert.Equal("/Gemm", proto.Graph.Nodes.Single().Name);
        Assert.Equal(["weight", "bias"], proto.Graph.Initializers.Select(t => t.Name));

        var identity = CheckAgainstRuntime(new Sequential(new Dropout(0.5f), new Identity()), null, [3], 0f);
        Assert.Equal("Identity", identity.Graph.Nodes.Single().OpType);
    }

    [Fact]
    public void SharedLayerIsOneInitializer()
    {
        Init.ManualSeed(8);
        var shared = new Dense(4, 4);
        var model = new Sequential(shared, new Tanh(), shared);
        var proto = CheckAgainstRuntime(model, null, [4], 1e-5f);
        Assert.Equal(["0.weight", "0.bias"], proto.Graph.Initializers.Select(t => t.Name));
        Assert.Equal(["/1/Tanh_output_0", "0.weight", "0.bias"], proto.Graph.Nodes[2].Inputs);
    }

    [Fact]
    public void LayerWithoutEquivalentIsNamed()
    {
        var model = new Sequential(new Dense(2, 3), new Sequential(new Relu(), new Doubler()));
        var e = Assert.Throws<InvalidOperationException>(() => OnnxExport.ToBytes(model, null, [2]));
        Assert.StartsWith("cannot export Doubler at '1.1' to ONNX: Backprop has no ONNX equivalent for Doubler; the exportable layers are Dense, Conv2d,", e.Message);
    }

    [Fact]
    public void WrongSampleShapeAndStandardizationAreRefused()
    {
        var model = new Sequential(new Dense(4, 2));
        var e = Assert.Throws<ArgumentException>(() => OnnxExport.ToBytes(model, null, [5]));
        Assert.Equal("the model does not take examples of shape [5]: Dense(4→2) expected input [*, 4] but got [1,5].", e.Message);
        var info = new ModelInfo { InputMean = [0f, 0f, 0f], InputStd = [1f, 1f, 1f] };
        e = Assert.Throws<ArgumentException>(() => OnnxExport.ToBytes(model, info, [4]));
        Assert.Equal("the model's standardization has 3 means and 3 standard deviations, so its examples are rows of 3 features, but the sample shape is [4].", e.Message);
        e = Assert.Throws<ArgumentException>(() => OnnxExport.ToBytes(model, null, [0]));
        Assert.Equal("the ONNX export expected the shape of one example (positive sizes, e.g. [4] or [1, 28, 28]) but got [0].", e.Message);
    }

    [Fact]
    public void SaveWritesTheFileAtomically()
    {
        var dir = Directory.CreateTempSubdirectory("backprop-onnx-").FullName;
        try
        {
            var path = Path.Combine(dir, "sub", "m.onnx");
            var model = new Sequential(new Dense(2, 2));
            OnnxExport.Save(model, path, null, [2]);
            Assert.Equal(OnnxExport.ToBytes(model, null, [2]), File.ReadAllBytes(path));
            Assert.Single(Directory.GetFiles(Path.Combine(dir, "sub")));
            Assert.Throws<InvalidOperationException>(() => OnnxExport.Save(new Doubler(), Path.Combine(dir, "x.onnx"), null, [2]));
            Assert.False(File.Exists(Path.Combine(dir, "x.onnx")));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static void Fill(Tensor t, Func<int, float> value)
    {
        var s = t.AsSpan();
        for (int i = 0; i < s.Length; i++) s[i] = value(i);
    }

    private sealed class Doubler : Module
    {
        public override Tensor Forward(Tensor input) => input * 2f;
    }
}
