using System.Text.Json;
using System.Text.Json.Nodes;
using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Tests.Cli;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>Fit says which engine trained the model and, when it was the graph, why; FitOptions.Engine chooses.</summary>
public sealed class EngineChoiceTests
{
    private static readonly Dataset Spirals = Datasets.Spirals(40, 3, seed: 3);

    private static Sequential Mlp() => new(new Dense(2, 8, rng: new Rng(1)), new Relu(), new Dense(8, 3, rng: new Rng(2)));

    // A custom module built from ops: the compiled step does not know it.
    private static Sequential WithCustomLayer() =>
        new(new Dense(2, 8, rng: new Rng(1)), new Doubler(), new Relu(), new Dense(8, 3, rng: new Rng(2)));

    private static History Fit(Module model, TrainingEngine engine, Action<History>? onStart = null) =>
        model.Fit(Spirals, Losses.CrossEntropy, new Adam(model.Parameters(), 1e-2f),
            new FitOptions { Epochs = 1, BatchSize = 16, Engine = engine, OnStart = onStart });

    [Fact]
    public void AutoTrainsADenseNetworkWithTheCompiledStep()
    {
        var history = Fit(Mlp(), TrainingEngine.Auto);
        Assert.Equal(TrainingEngine.Compiled, history.Engine);
        Assert.Null(history.EngineReason);
    }

    [Fact]
    public void AutoFallsBackToTheGraphAndSaysWhy()
    {
        var history = Fit(WithCustomLayer(), TrainingEngine.Auto);
        Assert.Equal(TrainingEngine.Graph, history.Engine);
        Assert.Equal("Doubler at '1' on rows of 8 features is not in the compiled step", history.EngineReason);
    }

    [Fact]
    public void CompiledRefusesAModelItCannotTrainBeforeTraining()
    {
        var model = WithCustomLayer();
        var before = model.Parameters().Select(p => p.ToArray()).ToList();
        var e = Assert.Throws<InvalidOperationException>(() => Fit(model, TrainingEngine.Compiled));
        Assert.Equal("Engine = Compiled, but the compiled step cannot train this model: Doubler at '1' on rows of 8 features " +
            "is not in the compiled step. Use Engine = Auto to train it through the autograd graph.", e.Message);
        var after = model.Parameters();
        for (int p = 0; p < after.Count; p++) Assert.Equal(before[p], after[p].ToArray());
    }

    [Fact]
    public void GraphIsTakenWhenAskedFor()
    {
        var history = Fit(Mlp(), TrainingEngine.Graph);
        Assert.Equal(TrainingEngine.Graph, history.Engine);
        Assert.Contains("asked for", history.EngineReason);
    }

    [Fact]
    public void OnStartSeesTheEngineOnceBeforeTheFirstBatch()
    {
        var seen = new List<(TrainingEngine, int)>();
        var model = Mlp();
        model.Fit(Spirals, Losses.CrossEntropy, new Adam(model.Parameters(), 1e-2f), new FitOptions
        {
            Epochs = 2, BatchSize = 16,
            OnStart = h => seen.Add((h.Engine, h.Epochs.Count)),
            OnBatch = _ => Assert.Single(seen),
        });
        Assert.Equal([(TrainingEngine.Compiled, 0)], seen);
    }

    [Fact]
    public void ReasonsNameTheLossAndTheOutputs()
    {
        Assert.Null(TrainingPlan.TryCreate(Mlp(), Losses.BinaryCrossEntropyWithLogits, Spirals, 8, out var loss));
        Assert.StartsWith("the loss 'bce_logits' on class labels is not in the compiled step", loss);
        var wide = new Sequential(new Dense(2, 8, rng: new Rng(1)), new Relu(), new Dense(8, 5, rng: new Rng(2)));
        Assert.Null(TrainingPlan.TryCreate(wide, Losses.CrossEntropy, Spirals, 8, out var outputs));
        Assert.Equal("the model's 5 outputs do not match the data's 3 classes", outputs);
        var tail = new Sequential(new Dense(2, 3, rng: new Rng(1)), new Dropout(0.5f));
        Assert.Null(TrainingPlan.TryCreate(tail, Losses.CrossEntropy, Spirals, 8, out var end));
        Assert.Equal("the model ends with Dropout(p=0.5) at '1', but the compiled step for cross_entropy must end with a Dense layer", end);
    }

    [Fact]
    public void TheCliPrintsTheEngineAndPutsItInTheJson()
    {
        var save = Path.Combine(Path.GetTempPath(), $"backprop-engine-{Guid.NewGuid():N}.safetensors");
        try
        {
            var (code, stdout, _) = CliRunner.Run(["train", "--epochs", "2", "--save", save]);
            Assert.Equal(0, code);
            Assert.Contains("\nengine  compiled step\n", stdout.ReplaceLineEndings("\n"));

            var (graphCode, graphOut, graphErr) = CliRunner.Run(["train", "--epochs", "2", "--save", save, "--engine", "graph", "--json"]);
            Assert.Equal(0, graphCode);
            Assert.Contains("engine  autograd graph (--engine graph)", graphErr);
            var json = JsonDocument.Parse(graphOut).RootElement;
            Assert.Equal("graph", json.GetProperty("engine").GetString());
            Assert.Contains("asked for", json.GetProperty("engine_reason").GetString());

            var (jsonCode, jsonOut, _) = CliRunner.Run(["train", "--epochs", "2", "--save", save, "--json"]);
            Assert.Equal(0, jsonCode);
            var compiled = JsonDocument.Parse(jsonOut).RootElement;
            Assert.Equal("compiled", compiled.GetProperty("engine").GetString());
            Assert.Equal(JsonValueKind.Null, compiled.GetProperty("engine_reason").ValueKind);

            var (badCode, _, badErr) = CliRunner.Run(["train", "--epochs", "2", "--save", save, "--engine", "fast"]);
            Assert.Equal(2, badCode);
            Assert.Contains("--engine must be auto, compiled or graph but got 'fast'", badErr);
        }
        finally
        {
            File.Delete(save);
        }
    }

    private sealed class Doubler : Module
    {
        public override Tensor Forward(Tensor input) => input * 2f;
        public override JsonObject ToSpec() => new() { ["type"] = "Doubler" };
        public override string ToString() => "Doubler";
    }
}
