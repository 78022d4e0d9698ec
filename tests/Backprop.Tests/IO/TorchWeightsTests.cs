using Backprop.IO;
using Backprop.Nn;
using Backprop.Tests.Golden;
using Backprop.Training;

namespace Backprop.Tests.IO;

/// <summary>
/// PyTorch state dicts in and out: the committed PyTorch models (tools/make_torch_weights_reference.py) predict in
/// Backprop what they predicted in PyTorch, the export is what PyTorch's load_state_dict took, and every mismatch is
/// refused naming both sides.
/// </summary>
public sealed class TorchWeightsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-torch-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string PathOf(string name) => Path.Combine(dir, name);

    private static Sequential Build(TorchWeightsModel m, int seed = 0) => ModelLanguage.Build(m.Spec, m.Input, new Rng(seed));

    private static float MaxDiff(Tensor actual, GoldenTensor expected)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var a = actual.AsSpan();
        float max = 0;
        for (int i = 0; i < a.Length; i++) max = MathF.Max(max, MathF.Abs(a[i] - (float)expected.Data[i]));
        return max;
    }

    [Theory]
    [InlineData("mlp", "F64", TorchImportRule.Names)]
    [InlineData("cnn", "F16", TorchImportRule.Shapes)]
    [InlineData("bn", "F32", TorchImportRule.Shapes)]
    public void APyTorchModelPredictsInBackpropWhatItPredictedInPyTorch(string name, string dtype, TorchImportRule rule)
    {
        var m = TorchWeightsReference.Model(name);
        Assert.Equal(dtype, m.Dtype);
        var model = Build(m);
        Assert.True(MaxDiff(model.Predict(m.Inputs), m.Y) > 1e-3f);   // the untrained model is far off: the check can fail
        var result = TorchWeights.Import(model, m.PathOf(m.File));
        Assert.Equal(rule, result.Rule);
        Assert.InRange(MaxDiff(model.Predict(m.Inputs), m.Y), 0f, 1e-5f);
    }

    [Fact]
    public void BatchNormBuffersCarryTheRunningStatisticsAndTheI64Counter()
    {
        var m = TorchWeightsReference.Model("bn");
        var model = Build(m);
        var result = TorchWeights.Import(model, m.PathOf(m.File));
        Assert.Equal(["conv1", "bn1", "fc1", "bn2", "fc2"], result.Matches.Select(x => x.TorchModule));
        Assert.Equal(["1", "2", "5", "6", "8"], result.Matches.Select(x => x.LayerPath));
        Assert.Equal(["weight", "bias", "running_mean", "running_var", "num_batches_tracked (I64)"], result.Matches[1].Tensors);
        var bn = (BatchNorm2d)model.Layers[2];
        var (entries, _) = SafeTensors.ReadEntries(m.PathOf(m.File));
        Assert.Equal(SafeTensorsDType.I64, entries["bn1.num_batches_tracked"].DType);
        Assert.Equal(5f, bn.NumBatchesTracked.AsSpan()[0]);
        Assert.Equal(entries["bn1.running_var"].ToTensor().AsSpan().ToArray(), bn.RunningVar.AsSpan().ToArray());
        Assert.DoesNotContain(1f, bn.RunningVar.AsSpan().ToArray());
    }

    [Theory]
    [InlineData("mlp")]
    [InlineData("cnn")]
    [InlineData("bn")]
    public void TheExportIsTheFilePyTorchLoadedAndReimportsToTheSamePredictions(string name)
    {
        var m = TorchWeightsReference.Model(name);
        var model = Build(m);
        TorchWeights.Import(model, m.PathOf(m.File));
        var export = PathOf("export.safetensors");
        var result = TorchWeights.Export(model, export);

        // The committed export is what PyTorch's load_state_dict(strict=True) took and then predicted the same with.
        Assert.True(m.Export.LoadedStrict && m.Export.Matched && m.Export.MaxAbsDiff < 1e-5, $"{m.Export}");
        Assert.Equal(m.Export.Pytorch, result.PyTorchModule);
        var written = SafeTensors.ReadEntries(export).Entries;
        var loadedByPyTorch = SafeTensors.ReadEntries(m.PathOf(m.Export.File)).Entries;
        Assert.Equal(loadedByPyTorch.Keys.Order(), written.Keys.Order());
        Assert.Equal(result.Names.Order(), written.Keys.Order());
        foreach (var (key, entry) in loadedByPyTorch)
        {
            Assert.Equal(entry.DType, written[key].DType);
            Assert.Equal(entry.Shape, written[key].Shape);
            Assert.True(entry.Bytes.Span.SequenceEqual(written[key].Bytes.Span), key);
        }

        var again = Build(m, seed: 7);
        TorchWeights.Import(again, export);
        Assert.Equal(model.Predict(m.Inputs).AsSpan().ToArray(), again.Predict(m.Inputs).AsSpan().ToArray());
    }

    [Fact]
    public void DenseWeightsCrossAsNnLinearStoresThemAndCountersAsI64()
    {
        var dense = new Dense(2, 3);
        Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3).AsSpan().CopyTo(dense.Weight.AsSpan());   // W [in, out]
        var model = new Sequential(dense, new Relu(), new BatchNorm1d(3));
        var (tensors, dtypes) = TorchWeights.ToTorchStateDict(model);
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias", "2.running_mean", "2.running_var", "2.num_batches_tracked"], tensors.Select(t => t.Name));
        var w = tensors[0].Tensor;
        Assert.Equal([3, 2], w.Shape);
        Assert.Equal([1f, 4f, 2f, 5f, 3f, 6f], w.AsSpan().ToArray());   // [out, in]
        Assert.Equal(SafeTensorsDType.I64, Assert.Single(dtypes).Value);
        Assert.Equal("2.num_batches_tracked", dtypes.Keys.Single());
    }

    [Fact]
    public void TheExportLeavesOutTheLeadingReshapeOfAnImageModelAndNumbersEveryOtherLayer()
    {
        var model = ModelLanguage.Build("conv(4,3,pad=1)-relu-maxpool(2)-conv(6,3)-relu-flatten-dense(5)", [1, 8, 8], new Rng(0));
        Assert.IsType<Reshape>(model.Layers[0]);
        var result = TorchWeights.Export(model, PathOf("cnn.safetensors"));
        Assert.Equal(["0.weight", "0.bias", "3.weight", "3.bias", "6.weight", "6.bias"], result.Names);
    }

    [Fact]
    public void AModelSpecThatDoesNotDescribeThePyTorchModelIsRefusedNamingBothShapesAndNothingIsLoaded()
    {
        var m = TorchWeightsReference.Model("mlp");
        var model = ModelLanguage.Build("dense(16)-tanh-dense(3)", [4], new Rng(0));
        var before = model.Layers[0].StateDict()[0].Tensor.AsSpan().ToArray();
        var path = m.PathOf(m.File);
        var e = Assert.Throws<ModelFormatException>(() => TorchWeights.Import(model, path));
        Assert.Equal($"{path}: no PyTorch module in the file fits layer 2 of 2 with weights, Dense(16→3) at '2', which needs weight [3,16] " +
            "(as nn.Linear stores it), bias [3] ('2', next by name: '2.weight' is [8,16] where Dense(16→3) needs weight [3,16] (nn.Linear's [out, in]; " +
            "Backprop stores it transposed, [16,3])). Modules left: '2' (bias [8], weight [8,16]); '4' (bias [3], weight [3,8]). " +
            "Check that the model spec and input shape describe the PyTorch model.", e.Message);
        Assert.Equal(before, model.Layers[0].StateDict()[0].Tensor.AsSpan().ToArray());
    }

    [Fact]
    public void TensorsLeftOverAfterEveryLayerIsFilledAreRefusedByName()
    {
        var m = TorchWeightsReference.Model("mlp");
        var path = m.PathOf(m.File);
        var e = Assert.Throws<ModelFormatException>(() => TorchWeights.Import(ModelLanguage.Build("dense(16)-tanh-dense(8)", [4], new Rng(0)), path));
        Assert.Equal($"{path}: the model's 2 layer(s) with weights are filled, but the file holds more: '4' (bias [3], weight [3,8]) fit(s) no layer. " +
            "Check that the model spec describes the whole PyTorch model.", e.Message);
    }

    // a [8, 8], b [8, 4], c [8, 8] as nn.Linear stores them, for a model 4 → 8 → 8 → 8 defined as b, a, c.
    private string ThreeLinears()
    {
        var path = PathOf("abc.safetensors");
        var rng = new Rng(3);
        Tensor R(params int[] shape) { var t = Tensor.Zeros(shape); Init.Default(t, 8, 8, rng); return t; }
        SafeTensors.Write(path, [("a.weight", R(8, 8)), ("a.bias", R(8)), ("b.weight", R(8, 4)), ("b.bias", R(8)), ("c.weight", R(8, 8)), ("c.bias", R(8))]);
        return path;
    }

    [Fact]
    public void TwoModulesThatFitOneLayerAreRefusedAsAmbiguousAndAnExplicitOrderResolvesThem()
    {
        var path = ThreeLinears();
        var model = ModelLanguage.Build("dense(8)-dense(8)-dense(8)", [4], new Rng(0));
        var e = Assert.Throws<ModelFormatException>(() => TorchWeights.Import(model, path));
        Assert.Equal($"{path}: cannot tell which PyTorch module goes to layer 2 of 3 with weights, Dense(8→8) at '1': the module names do not sort in " +
            "the model's order, and 'a', 'c' all fit it. Name the modules in the order the model uses them (option --order, or TorchImportOptions.Order); " +
            "the file's modules are: 'a', 'b', 'c'.", e.Message);

        var result = TorchWeights.Import(model, path, new TorchImportOptions { Order = ["b", "a", "c"] });
        Assert.Equal(TorchImportRule.Given, result.Rule);
        var a = SafeTensors.Read(path).Tensors["a.weight"];
        var w = ((Dense)model.Layers[1]).Weight.AsSpan();
        for (int o = 0; o < 8; o++)
            for (int i = 0; i < 8; i++) Assert.Equal(a.AsSpan()[o * 8 + i], w[i * 8 + o]);
    }

    [Fact]
    public void AGivenOrderIsCheckedNameByNameAndLayerByLayer()
    {
        var path = ThreeLinears();
        var model = ModelLanguage.Build("dense(8)-dense(8)-dense(8)", [4], new Rng(0));
        string Refusal(params string[] order) =>
            Assert.Throws<ModelFormatException>(() => TorchWeights.Import(model, path, new TorchImportOptions { Order = order })).Message[(path.Length + 2)..];

        Assert.Equal("the order names 'fc1', which the file holds no tensors under; its modules are: 'a', 'b', 'c'.", Refusal("b", "fc1", "c"));
        Assert.Equal("the order names 'a' 2 times; name each PyTorch module once.", Refusal("b", "a", "a"));
        Assert.Equal("the order names 2 module(s) but the model has 3 layer(s) with weights: Dense(4→8) at '0'; Dense(8→8) at '1'; Dense(8→8) at '2'.", Refusal("b", "a"));
        Assert.Equal("the order puts PyTorch module 'a' on layer 1 of 3 with weights, Dense(4→8) at '0', but 'a.weight' is [8,8] where Dense(4→8) needs " +
            "weight [8,4] (nn.Linear's [out, in]; Backprop stores it transposed, [4,8]).", Refusal("a", "b", "c"));
        var two = ModelLanguage.Build("dense(8)-dense(8)", [4], new Rng(0));
        Assert.Equal("the order leaves out 'c' (bias [8], weight [8,8]); every tensor in the file must go to a layer.",
            Assert.Throws<ModelFormatException>(() => TorchWeights.Import(two, path, new TorchImportOptions { Order = ["b", "a"] })).Message[(path.Length + 2)..]);
    }

    [Fact]
    public void AModuleWithoutATensorTheLayerHoldsIsRefusedButAMissingBatchCounterIsNot()
    {
        var path = PathOf("nobias.safetensors");
        SafeTensors.Write(path, [("0.weight", Tensor.Ones(3, 2)), ("1.weight", Tensor.Ones(3)), ("1.bias", Tensor.Zeros(3)),
            ("1.running_mean", Tensor.FromArray([1f, 2f, 3f], 3)), ("1.running_var", Tensor.Ones(3))]);
        var model = new Sequential(new Dense(2, 3), new BatchNorm1d(3));
        var e = Assert.Throws<ModelFormatException>(() => TorchWeights.Import(model, path));
        Assert.Contains("fits layer 1 of 2 with weights, Dense(2→3) at '0', which needs weight [3,2] (as nn.Linear stores it), bias [3] " +
            "('0', next by name: '0' lacks bias (Dense(2→3) holds weight, bias))", e.Message);

        var noBias = new Sequential(new Dense(2, 3, bias: false), new BatchNorm1d(3));
        Assert.Equal(TorchImportRule.Names, TorchWeights.Import(noBias, path).Rule);
        Assert.Equal([1f, 2f, 3f], ((BatchNorm1d)noBias.Layers[1]).RunningMean.AsSpan().ToArray());
        Assert.Equal(0f, ((BatchNorm1d)noBias.Layers[1]).NumBatchesTracked.AsSpan()[0]);
    }

    [Fact]
    public void ANonFiniteWeightIsRefusedNamingThePyTorchTensor()
    {
        var path = PathOf("nan.safetensors");
        SafeTensors.Write(path, [("fc.weight", Tensor.FromArray([1f, float.NaN], 1, 2)), ("fc.bias", Tensor.Zeros(1))]);
        var e = Assert.Throws<ModelFormatException>(() => TorchWeights.Import(new Sequential(new Dense(2, 1)), path));
        Assert.StartsWith($"{path}: tensor 'fc.weight' [1,2] holds NaN at index 1 (1 of its 2 values are not finite)", e.Message);
    }

    [Fact]
    public void ModulePathsSortAsNnSequentialNumbersThemAndNamesNaturally()
    {
        string[] paths = ["fc10", "10", "features.10", "2", "", "classifier.0", "features.2", "fc2", "0", "features", "layer1.0.conv", "layer1.0"];
        Assert.Equal(["", "0", "2", "10", "classifier.0", "fc2", "fc10", "features", "features.2", "features.10", "layer1.0", "layer1.0.conv"],
            paths.Order(TorchModulePath.Order));
    }
}
