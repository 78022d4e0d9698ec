using System.Text.Json.Nodes;
using Backprop.Data;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Nn;

/// <summary>
/// A module written with only a constructor and Forward: its children, parameters, buffers and generators are found
/// from its fields, it trains, it saves and loads (registered, or by state dict into an instance).
/// </summary>
public sealed class CustomModuleTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-custom-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static Tensor Trainable(int size)
    {
        var t = Tensor.Ones(size);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>Every kind of field discovery knows, in declaration order.</summary>
    private sealed class Everything : Module
    {
        private readonly Dense encoder = new(4, 6, rng: new Rng(1));
        public Dense Head { get; } = new(6, 3, rng: new Rng(2));
        private readonly List<Dense> blocks = [new(6, 6, rng: new Rng(3)), new(6, 6, rng: new Rng(4))];
        private readonly Dictionary<string, Dense> extra = new() { ["aux"] = new Dense(6, 2, rng: new Rng(5)) };
        private readonly Tensor scale = Trainable(6);
        private readonly Tensor[] gates = [Trainable(6)];
        [Buffer] private readonly Tensor calls = Tensor.Zeros(1);
        [Constant] private readonly Tensor mask = Tensor.Ones(6);
        private readonly Rng noise = new(9);
        private readonly int width = 6;

        public override Tensor Forward(Tensor input)
        {
            if (IsTraining) calls.AsSpan()[0]++;
            var h = encoder.Forward(input).Tanh() * scale * gates[0] * mask;
            foreach (var block in blocks) h = block.Forward(h).Tanh();
            return Head.Forward(h.Reshape(-1, width));
        }
    }

    [Fact]
    public void FieldsBecomeChildrenParametersBuffersAndGeneratorsNamedAsWritten()
    {
        var m = new Everything();
        Assert.Equal(["encoder", "Head", "blocks.0", "blocks.1", "extra.aux"], m.Children().Select(c => c.Name));
        Assert.Equal(["scale", "gates.0", "encoder.weight", "encoder.bias", "Head.weight", "Head.bias", "blocks.0.weight", "blocks.0.bias",
            "blocks.1.weight", "blocks.1.bias", "extra.aux.weight", "extra.aux.bias"], m.NamedParameters().Select(p => p.Name));
        Assert.Equal(["calls"], m.NamedBuffers().Select(b => b.Name));
        Assert.Equal(["noise"], m.NamedGenerators().Select(g => g.Name));
        Assert.Equal(6 + 6 + (4 * 6 + 6) + (6 * 3 + 3) + 2 * (6 * 6 + 6) + (6 * 2 + 2), m.ParameterCount());
        Assert.Equal("Everything(encoder: Dense(4→6), Head: Dense(6→3), blocks.0: Dense(6→6), blocks.1: Dense(6→6), extra.aux: Dense(6→2))", m.ToString());
        Assert.Equal("""{"type":"Everything"}""", m.ToSpec().ToJsonString());
    }

    [Fact]
    public void EvalAndTrainReachTheDiscoveredChildren()
    {
        var m = new Everything();
        m.Eval();
        Assert.All(m.Children(), c => Assert.False(c.Module.IsTraining));
        m.Train();
        Assert.All(m.Children(), c => Assert.True(c.Module.IsTraining));
    }

    /// <summary>Captured primary-constructor parameters count as fields, named as the parameter.</summary>
    private sealed class TwoTower(int inputs, int classes) : Module
    {
        private readonly Dense left = new(inputs, 8, rng: new Rng(11));
        private readonly Dense right = new(inputs, 8, rng: new Rng(12));
        private readonly Dense output = new(8, classes, rng: new Rng(13));

        public override Tensor Forward(Tensor input) => output.Forward(left.Forward(input).Relu() + right.Forward(input).Tanh());
    }

    [Fact]
    public void AModuleWithOnlyAConstructorAndForwardTrainsOnEveryEngineItCanUse()
    {
        var data = Datasets.Spirals(60, 3, seed: 2);
        var model = new TwoTower(2, 3);
        Assert.Equal(["left.weight", "left.bias", "right.weight", "right.bias", "output.weight", "output.bias"], model.NamedParameters().Select(p => p.Name));
        var history = model.Fit(data, Losses.CrossEntropy, new Adam(model.Parameters(), 0.02f), new FitOptions { Epochs = 60, BatchSize = 30 });
        Assert.Equal(TrainingEngine.Graph, history.Engine);
        Assert.True(history.Last.Loss < 0.5 * history.Epochs[0].Loss, $"loss went from {history.Epochs[0].Loss} to {history.Last.Loss}");
    }

    private sealed class Frozen : Module
    {
        public Tensor Kept { get; } = Tensor.Ones(3);   // RequiresGrad false: a frozen parameter, still state
        public Tensor Trained { get; } = Trainable(3);

        public override Tensor Forward(Tensor input) => input * Kept * Trained;
    }

    [Fact]
    public void AFrozenTensorFieldIsStillAParameterSavedAndLoadedButNeverStepped()
    {
        var m = new Frozen();
        Assert.Equal(["Kept", "Trained"], m.NamedParameters().Select(p => p.Name));
        var data = new Dataset(Tensor.RandomNormal([8, 3], new Rng(1)), Tensor.RandomNormal([8, 3], new Rng(2)), name: "random");
        m.Fit(data, Losses.MSE, new Sgd(m.Parameters(), 0.1f), new FitOptions { Epochs = 3, BatchSize = 8 });
        Assert.Equal([1f, 1f, 1f], m.Kept.ToArray());
        Assert.NotEqual([1f, 1f, 1f], m.Trained.ToArray());
    }

    private sealed class Shared : Module
    {
        private readonly Dense a = new(3, 3, rng: new Rng(1));
        private readonly Dense alias;

        public Shared() => alias = a;

        public override Tensor Forward(Tensor input) => alias.Forward(a.Forward(input).Tanh());
    }

    [Fact]
    public void ALayerHeldByTwoFieldsIsOneParameterSet()
    {
        var m = new Shared();
        Assert.Equal(["a.weight", "a.bias"], m.NamedParameters().Select(p => p.Name));
        Assert.Equal([["a.weight", "alias.weight"], ["a.bias", "alias.bias"]], m.SharedTensorPaths());
    }

    private sealed class Hidden : Module
    {
        private readonly (Dense, Dense) pair = (new Dense(2, 2), new Dense(2, 2));

        public override Tensor Forward(Tensor input) => pair.Item2.Forward(pair.Item1.Forward(input));
    }

    [Fact]
    public void StateKeptWhereItCannotBeNamedIsAnErrorNotAnEmptyModule()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new Hidden().Parameters());
        Assert.Equal("Hidden.pair is a ValueTuple<Dense, Dense>, which holds modules or tensors in a way Backprop cannot name, so they " +
            "would be neither trained nor saved: keep them in fields of their own, an array, a List<T> or a Dictionary<string, T>, " +
            "mark the field [Constant] if it is not state, or override Children()/OwnParameters().", e.Message);
    }

    [Fact]
    public void ModelFilesNameTheRegistrationAnUnregisteredCustomTypeNeeds()
    {
        var path = Path.Combine(dir, "tower.safetensors");
        new TwoTowerUnregistered().Save(path);
        var e = Assert.Throws<ModelFormatException>(() => ModelFile.Load(path));
        Assert.Contains("unknown layer type 'TwoTowerUnregistered': if it is your own module, call ModuleSpec.Register<TwoTowerUnregistered>(\"TwoTowerUnregistered\", spec => new TwoTowerUnregistered(...)) before loading, or build the model yourself and load its weights with LoadStateDict.", e.Message);
    }

    private sealed class TwoTowerUnregistered : Module
    {
        private readonly Dense layer = new(2, 2);

        public override Tensor Forward(Tensor input) => layer.Forward(input);
    }

    /// <summary>A registered type whose spec carries its constructor arguments.</summary>
    private sealed class Registered(int inputs, int classes) : Module
    {
        private readonly Dense hidden = new(inputs, 5, rng: new Rng(21));
        private readonly Dense output = new(5, classes, rng: new Rng(22));

        public override Tensor Forward(Tensor input) => output.Forward(hidden.Forward(input).Relu());

        public override JsonObject ToSpec() => new() { ["type"] = "test.registered", ["inputs"] = inputs, ["classes"] = classes };
    }

    [Fact]
    public void ARegisteredCustomTypeRoundTripsThroughAModelFile()
    {
        ModuleSpec.Register("test.registered", spec => new Registered((int)spec["inputs"]!, (int)spec["classes"]!));
        ModuleSpec.Register("test.registered", spec => new Registered((int)spec["inputs"]!, (int)spec["classes"]!));   // again: allowed
        var model = new Registered(4, 3);
        var x = Tensor.RandomNormal([5, 4], new Rng(3));
        var path = Path.Combine(dir, "registered.safetensors");
        model.Save(path);
        var (loaded, _) = ModelFile.Load(path);
        Assert.IsType<Registered>(loaded);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }

    [Fact]
    public void RegistrationRefusesBuiltInNamesAndNamesTakenByAnotherType()
    {
        var builtIn = Assert.Throws<ArgumentException>(() => ModuleSpec.Register("Dense", _ => new TwoTowerUnregistered()));
        Assert.Equal("cannot register TwoTowerUnregistered as 'Dense': that is the name of a built-in layer.", builtIn.Message);
        ModuleSpec.Register("test.taken", _ => new Frozen());
        var taken = Assert.Throws<ArgumentException>(() => ModuleSpec.Register("test.taken", _ => new Shared()));
        Assert.Equal("cannot register Shared as 'test.taken': Frozen is already registered under that name.", taken.Message);
    }

    [Fact]
    public void AStateDictFileLoadsIntoAnInstanceTheUserBuilt()
    {
        var trained = new TwoTower(2, 3);
        foreach (var p in trained.Parameters()) p.AsSpan().Fill(0.25f);
        var path = Path.Combine(dir, "state.safetensors");
        trained.SaveStateDict(path);
        var fresh = new TwoTower(2, 3);
        var (missing, unexpected) = fresh.LoadStateDict(path);
        Assert.Empty(missing);
        Assert.Empty(unexpected);
        var x = Tensor.RandomNormal([4, 2], new Rng(5));
        Assert.Equal(trained.Predict(x).ToArray(), fresh.Predict(x).ToArray());
    }

    [Fact]
    public void AStrictLoadNamesWhatIsMissingUnexpectedAndMisShapedAndCopiesNothing()
    {
        var model = new TwoTower(2, 3);
        var before = model.Parameters().Select(p => p.ToArray()).ToList();
        var state = model.StateDict().ToDictionary(s => s.Name, s => Tensor.Ones([.. s.Tensor.Shape]));
        state.Remove("right.bias");
        state["left.weight"] = Tensor.Ones(3, 8);
        state["extra.weight"] = Tensor.Ones(2);
        var e = Assert.Throws<ArgumentException>(() => model.LoadStateDict(state));
        Assert.Equal("cannot load the state into TwoTower: shapes differ: 'left.weight' is [2,8] in the model but [3,8] in the state. " +
            "missing (the model has them, the state does not): right.bias. unexpected (the state has them, the model does not): extra.weight.", e.Message);
        Assert.Equal(before, model.Parameters().Select(p => p.ToArray()));
    }

    [Fact]
    public void ANonStrictLoadSkipsUnmatchedNamesButStillRefusesAShapeMismatch()
    {
        var model = new TwoTower(2, 3);
        var state = new Dictionary<string, Tensor> { ["output.bias"] = Tensor.Ones(3), ["head.weight"] = Tensor.Ones(1) };
        var (missing, unexpected) = model.LoadStateDict(state, strict: false);
        Assert.Equal(["left.weight", "left.bias", "right.weight", "right.bias", "output.weight"], missing);
        Assert.Equal(["head.weight"], unexpected);
        Assert.Equal([1f, 1f, 1f], model.StateDict().Single(s => s.Name == "output.bias").Tensor.ToArray());
        state["output.bias"] = Tensor.Ones(4);
        Assert.Throws<ArgumentException>(() => { model.LoadStateDict(state, strict: false); });
    }

    [Fact]
    public void ALoadFromAFileThatDoesNotFitNamesTheFile()
    {
        var path = Path.Combine(dir, "other.safetensors");
        new Registered(4, 3).SaveStateDict(path);
        var e = Assert.Throws<ModelFormatException>(() => new TwoTower(2, 3).LoadStateDict(path));
        Assert.Equal($"{path}: cannot load the state into TwoTower: shapes differ: 'output.weight' is [8,3] in the model but [5,3] in the state. " +
            "missing (the model has them, the state does not): left.weight, left.bias, right.weight, right.bias. " +
            "unexpected (the state has them, the model does not): hidden.bias, hidden.weight.", e.Message);
    }
}
