using System.Text.Json;
using Backprop.Data;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Onnx.Proto;
using Backprop.Training;

namespace Backprop.Onnx.Tests;

/// <summary>
/// Models exported by PyTorch (tools/make_onnx_reference.py) import with PyTorch's outputs; Backprop's own exports
/// come back unchanged; what cannot be imported is refused naming the node.
/// </summary>
public sealed class ImportTests
{
    private static string DataFile(string name) => Path.Combine(AppContext.BaseDirectory, "Data", name);

    [Theory]
    [InlineData("torch_mlp", "Sequential(Dense(4→16) → ReLU → Dense(16→8) → Tanh → Dense(8→3))")]
    [InlineData("torch_cnn", "Sequential(Reshape(1×12×12) → Conv2d(1→4, 3×3, pad 1) → ReLU → MaxPool2d(2×2) → Conv2d(4→6, 3×3) → Sigmoid → AvgPool2d(2×2) → Flatten → Dense(24→5))")]
    [InlineData("torch_batchnorm", "Sequential(Conv2d(2→3, 3×3) → LeakyReLU(0.1) → BatchNorm2d(3) → MaxPool2d(2×2, stride 1) → Flatten → Dense(48→10) → BatchNorm1d(10, eps=0.001, momentum=0.05) → ReLU → Dense(10→4) → Softmax)")]
    public void PyTorchExportsImportWithPyTorchsOutputs(string name, string architecture)
    {
        var (model, info) = OnnxImport.Load(DataFile(name + ".onnx"));
        Assert.Equal(architecture, model.ToString());
        OnnxStructure.Check(File.ReadAllBytes(DataFile(name + ".onnx")));   // the structural check accepts PyTorch's files too
        Assert.Null(info.InputMean);

        using var json = JsonDocument.Parse(File.ReadAllText(DataFile(name + ".json")));
        var root = json.RootElement;
        int[] shape = [.. root.GetProperty("input_shape").EnumerateArray().Select(e => e.GetInt32())];
        float[] input = [.. root.GetProperty("input").EnumerateArray().Select(e => e.GetSingle())];
        float[] expected = [.. root.GetProperty("output").EnumerateArray().Select(e => e.GetSingle())];

        var output = model.Predict(Tensor.FromArray(input, shape));
        Assert.Equal(root.GetProperty("output_shape").EnumerateArray().Select(e => e.GetInt32()), output.Shape);
        ModelAssert.Close(expected, output.AsSpan(), 1e-5f);
    }

    [Fact]
    public void ImportedModelFineTunes()
    {
        var (model, _) = OnnxImport.Load(DataFile("torch_batchnorm.onnx"));
        var x = ModelAssert.Batch(8, [2, 7, 7], seed: 3);
        var target = Tensor.FromArray([.. Enumerable.Range(0, 8).Select(i => (float)(i % 4))], 8);
        model.Train();
        var optimizer = new Optim.Sgd(model.Parameters(), lr: 0.1f);
        float Loss() => Losses.CrossEntropy.Compute(model.Forward(x), target).Item();
        float before = Loss();
        for (int step = 0; step < 5; step++)
        {
            optimizer.ZeroGrad();
            var loss = Losses.CrossEntropy.Compute(model.Forward(x), target);
            loss.Backward();
            optimizer.Step();
        }
        Assert.True(Loss() < before, $"loss {before} did not fall after 5 steps: {Loss()}");
        Assert.Equal(3 * 2 * 9 + 3 + 3 + 3 + 48 * 10 + 10 + 10 + 10 + 10 * 4 + 4, model.ParameterCount());
        Assert.All(model.Parameters(), p => Assert.True(p.RequiresGrad));
    }

    [Fact]
    public void OwnExportComesBackUnchangedWithItsInfo()
    {
        Init.ManualSeed(11);
        var bn = new BatchNorm1d(6, momentum: 0.2f);
        bn.RunningMean.AsSpan().Fill(0.25f);
        bn.RunningVar.AsSpan().Fill(1.75f);
        var model = new Sequential(new Dense(4, 6), bn, new LeakyRelu(0.3f), new Dropout(0.1f), new Dense(6, 2));
        float[] mean = [1f, 2f, 3f, 4f], std = [0.5f, 1f, 2f, 4f];
        var info = new ModelInfo
        {
            FeatureNames = ["w", "x", "y", "z"], TargetName = "t", Loss = "mse", Dataset = "mine",
            InputMean = mean, InputStd = std, TargetMean = [10f, 20f], TargetStd = [2f, 3f],
        };
        var (back, backInfo) = OnnxImport.Read(OnnxExport.ToBytes(model, info, [4]));

        Assert.Equal("Sequential(Dense(4→6) → BatchNorm1d(6, momentum=0.2) → LeakyReLU(0.3) → Dense(6→2))", back.ToString());
        Assert.Equal(info.FeatureNames, backInfo.FeatureNames);
        Assert.Equal(("t", "mse", "mine"), (backInfo.TargetName, backInfo.Loss, backInfo.Dataset));
        Assert.Equal(mean, backInfo.InputMean!);
        Assert.Equal(std, backInfo.InputStd!);
        Assert.Equal([10f, 20f], backInfo.TargetMean!);
        Assert.Equal([2f, 3f], backInfo.TargetStd!);
        var x = new Standardizer(mean, std).Transform(ModelAssert.Batch(9, [4], seed: 5, scale: 4f));
        Assert.Equal(model.Predict(x).ToArray(), back.Predict(x).ToArray());
    }

    [Fact]
    public void OwnCnnExportRoundTrips()
    {
        Init.ManualSeed(12);
        var model = new Sequential(new Reshape(3, 10, 10), new Conv2d(3, 5, 3, stride: 2, padding: 1), new BatchNorm2d(5), new Relu(),
            new AvgPool2d(2, 1), new MaxPool2d(2), new Flatten(), new Dense(20, 3, bias: false), new Sigmoid());
        var (back, info) = OnnxImport.Read(OnnxExport.ToBytes(model, null, [300]));
        Assert.Equal(model.ToString(), back.ToString());
        Assert.Empty(info.FeatureNames);
        var x = ModelAssert.Batch(4, [300], seed: 6);
        Assert.Equal(model.Predict(x).ToArray(), back.Predict(x).ToArray());
    }

    [Fact]
    public void MatMulAndAddBecomeOneDense()
    {
        // [N, 3] · W[3, 2] + b[2], Tanh: what torch writes for a Linear on inputs of rank above 2.
        var g = Graph([3], ("MatMul", ["w"], []), ("Add", ["b"], []), ("Tanh", [], []));
        g.Initializers.Add(Floats("w", [3, 2], [1, 2, 3, 4, 5, 6]));
        g.Initializers.Add(Floats("b", [2], [0.5f, -0.5f]));
        var (model, _) = OnnxImport.Read(Encode(g));
        Assert.Equal("Sequential(Dense(3→2) → Tanh)", model.ToString());
        var y = model.Predict(Tensor.FromArray([1f, 0f, -1f], 1, 3));
        ModelAssert.Close([MathF.Tanh(1 - 5 + 0.5f), MathF.Tanh(2 - 6 - 0.5f)], y.AsSpan(), 1e-6f);
    }

    [Fact]
    public void GemmFoldsAlphaAndBeta()
    {
        var g = Graph([2], ("Gemm", ["w", "c"], [OnnxAttribute.Of("alpha", 2f), OnnxAttribute.Of("beta", 3f), OnnxAttribute.Of("transB", 1L)]));
        g.Initializers.Add(Floats("w", [1, 2], [1, -1]));   // [out, in] as torch writes it
        g.Initializers.Add(Floats("c", [1], [0.5f]));
        var (model, _) = OnnxImport.Read(Encode(g));
        Assert.Equal(2f * (3 - 1) + 3f * 0.5f, model.Predict(Tensor.FromArray([3f, 1f], 1, 2)).Item());
    }

    [Theory]
    [InlineData("Gelu", "node '/1/Gelu' (Gelu) is not an op Backprop imports here; it imports Gemm, MatMul (+ Add), Conv,")]
    [InlineData("LSTM", "node '/1/LSTM' (LSTM) is not an op Backprop imports here")]
    public void UnsupportedOpIsNamedWithItsNode(string op, string message)
    {
        var g = Graph([2], ("Relu", [], []), (op, [], []));
        var e = Assert.Throws<ModelFormatException>(() => OnnxImport.Read(Encode(g), "m.onnx"));
        Assert.StartsWith("m.onnx: " + message, e.Message);
    }

    [Fact]
    public void WhatBackpropCannotExpressIsRefusedNamingTheNode()
    {
        (string Op, string[] Inputs, OnnxAttribute[] Attributes) conv = ("Conv", ["k"], [OnnxAttribute.Of("kernel_shape", 3L, 3L), OnnxAttribute.Of("pads", 1L, 0L, 1L, 0L)]);
        var g = Graph([1, 5, 5], conv);
        g.Initializers.Add(Floats("k", [1, 1, 3, 3], new float[9]));
        Assert.Equal("m.onnx: node '/0/Conv' (Conv) has pads [1, 0, 1, 0]; Backprop takes the same padding on every side.", Refusal(g));

        g = Graph([1, 5, 5], ("MaxPool", [], [OnnxAttribute.Of("kernel_shape", 2L, 3L)]));
        Assert.Equal("m.onnx: node '/0/MaxPool' (MaxPool) has kernel_shape [2, 3]; Backprop takes two equal positive sizes (height = width).", Refusal(g));

        g = Graph([4], ("Gemm", ["w"], []));
        g.Initializers.Add(Floats("w", [3, 2], new float[6]));
        Assert.Equal("m.onnx: node '/0/Gemm' (Gemm) expected input [N, 3] for its weight but gets [N, 4].", Refusal(g));

        g = Graph([4], ("Gemm", ["w"], []));
        g.Initializers.Add(new OnnxTensor { Name = "w", Dims = [4, 1], DataType = 7, Int64s = [1, 2, 3, 4] });
        Assert.Equal("m.onnx: node '/0/Gemm' (Gemm) reads the weight 'w' of data type 7, but Backprop imports float weights (type 1) only.", Refusal(g));

        g = Graph([4], ("Gemm", ["w"], []));
        g.Initializers.Add(Floats("w", [4, 1], [1, float.NaN, 0, 0]));
        Assert.Equal("m.onnx: node '/0/Gemm' (Gemm) reads the weight 'w', which holds NaN; weights must be finite.", Refusal(g));

        g = Graph([4], ("Softmax", [], [OnnxAttribute.Of("axis", 0L)]));
        Assert.Equal("m.onnx: node '/0/Softmax' (Softmax) takes the softmax over axis 0 of a rank-2 value; Backprop's Softmax is over the last axis.", Refusal(g));

        g = Graph([4], ("Relu", [], []), ("Add", ["input"], []));   // a skip connection: x + relu(x)
        Assert.Equal("m.onnx: node '/1/Add' (Add) reads 'input', which is not a constant (an initializer or a Constant node); Backprop imports a chain of layers whose weights are constants.", Refusal(g));

        g = Graph([4], ("Relu", [], []));
        g.Nodes[0].Inputs[0] = "elsewhere";
        Assert.Equal("m.onnx: node '/0/Relu' (Relu) reads 'elsewhere' but the value flowing through the chain is 'input'; Backprop imports graphs that are a chain of layers (no branches, skips or shape arithmetic).", Refusal(g));

        g = Graph([4], ("Relu", [], []));
        g.Inputs[0].Shape![1] = new OnnxDim(null, "features");
        Assert.Equal("m.onnx: the graph's input 'input' has dimension 1 of unknown or invalid size (features); Backprop needs every size after the batch fixed.", Refusal(g));

        g = Graph([4], ("Relu", [], []));
        g.Nodes[0].Domain = "com.microsoft";
        Assert.StartsWith("m.onnx: node '/0/Relu' (Relu) is in operator domain 'com.microsoft'", Refusal(g));

        var old = new OnnxModel { IrVersion = 8, Graph = Graph([4], ("Relu", [], [])) };
        old.Opsets.Add(new OnnxOpset("", 9));
        Assert.Equal("m.onnx: it uses opset 9; Backprop reads opset 11 and later (re-export it with a newer opset).",
            Assert.Throws<ModelFormatException>(() => OnnxImport.Read(OnnxEncoder.Encode(old), "m.onnx")).Message);
    }

    [Fact]
    public void ReshapeResolvesZeroAndMinusOne()
    {
        var g = Graph([2, 3, 4], ("Reshape", ["s"], []));
        g.Initializers.Add(new OnnxTensor { Name = "s", Dims = [3], DataType = 7, Int64s = [0, 0, -1] });
        Assert.Equal("Sequential(Reshape(2×12))", OnnxImport.Read(Encode(g)).Model.ToString());

        g = Graph([2, 3, 4], ("Reshape", ["s"], []));
        g.Initializers.Add(new OnnxTensor { Name = "s", Dims = [2], DataType = 7, Int64s = [2, 12] });
        Assert.Equal("m.onnx: node '/0/Reshape' (Reshape) reshapes examples of 24 values to [2, 12], which changes the batch; Backprop keeps it.", Refusal(g));
    }

    [Fact]
    public void MissingFileIsFileNotFound() =>
        Assert.Throws<FileNotFoundException>(() => OnnxImport.Load(Path.Combine(Path.GetTempPath(), "no-such-model.onnx")));

    private static string Refusal(OnnxGraph g) => Assert.Throws<ModelFormatException>(() => OnnxImport.Read(Encode(g), "m.onnx")).Message;

    /// <summary>A graph with input [batch, ..sample] running the given nodes in a chain, named /i/Op as torch names them.</summary>
    internal static OnnxGraph Graph(int[] sample, params (string Op, string[] Inputs, OnnxAttribute[] Attributes)[] nodes)
    {
        var g = new OnnxGraph { Name = "g" };
        g.Inputs.Add(new OnnxValueInfo { Name = "input", ElemType = 1, Shape = [new OnnxDim(null, "N"), .. sample.Select(d => new OnnxDim(d, null))] });
        string current = "input";
        for (int i = 0; i < nodes.Length; i++)
        {
            var node = new OnnxNode { Name = $"/{i}/{nodes[i].Op}", OpType = nodes[i].Op };
            node.Inputs.Add(current);
            node.Inputs.AddRange(nodes[i].Inputs);
            node.Outputs.Add(current = $"v{i}");
            node.Attributes.AddRange(nodes[i].Attributes);
            g.Nodes.Add(node);
        }
        g.Outputs.Add(new OnnxValueInfo { Name = current, ElemType = 1 });
        return g;
    }

    internal static OnnxTensor Floats(string name, long[] dims, float[] values) =>
        new() { Name = name, Dims = dims, DataType = 1, Floats = values };

    internal static byte[] Encode(OnnxGraph g)
    {
        var model = new OnnxModel { IrVersion = 8, Graph = g };
        model.Opsets.Add(new OnnxOpset("", 17));
        return OnnxEncoder.Encode(model);
    }
}
