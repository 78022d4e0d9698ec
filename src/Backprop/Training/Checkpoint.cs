using System.Collections;
using System.Text.Json;
using Backprop.Data;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Optim;

namespace Backprop.Training;

/// <summary>
/// The checkpoint of a <c>Fit</c> run: one <c>checkpoint.safetensors</c> holding the model's parameters and
/// buffers (<c>model.*</c>), the optimizer's state (<c>optimizer.*</c>), early stopping's best weights
/// (<c>best.*</c>), and in its metadata the position, random generator states, history and the caller's own
/// entries. It is written through <see cref="SafeTensors.Write"/>, i.e. to a temporary file then renamed, so a
/// crash mid-write leaves the previous checkpoint whole.
/// </summary>
public static class Checkpoint
{
    /// <summary>The checkpoint's file name inside its directory.</summary>
    public const string FileName = "checkpoint.safetensors";

    private const string StateKey = "backprop.checkpoint";
    private static readonly AsyncLocal<int?> FailAtTensor = new();

    /// <summary>The checkpoint file in <paramref name="directory"/>.</summary>
    public static string PathIn(string directory) => Path.Combine(directory, FileName);

    /// <summary>The entries given as <see cref="FitOptions.CheckpointMetadata"/> when the checkpoint in <paramref name="directory"/> was written.</summary>
    /// <exception cref="FileNotFoundException">The directory holds no checkpoint.</exception>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string directory)
    {
        var (_, metadata) = SafeTensors.Read(Existing(directory));
        if (!metadata.ContainsKey(StateKey))
            throw new ModelFormatException(PathIn(directory), "it is a safetensors file but not a Backprop training checkpoint.");
        metadata.Remove(StateKey);
        return metadata;
    }

    /// <summary>The epochs completed in the checkpoint in <paramref name="directory"/> and batches done of the next one.</summary>
    public static (int Epoch, int Batch) ReadPosition(string directory)
    {
        var state = ReadState(Existing(directory), SafeTensors.Read(Existing(directory)).Metadata);
        return (state.Epoch, state.Batch);
    }

    /// <summary>Test hook: within the calling flow, the next writes throw after starting the temporary file, before tensor <paramref name="index"/>.</summary>
    internal static IDisposable FailWritesAt(int index)
    {
        FailAtTensor.Value = index;
        return new Reset();
    }

    private sealed class Reset : IDisposable
    {
        public void Dispose() => FailAtTensor.Value = null;
    }

    internal static void Save(string directory, TrainingState state, Module model, Optimizer optimizer, float[][]? bestWeights,
        IReadOnlyDictionary<string, string>? extra)
    {
        var tensors = new List<(string Name, Tensor Tensor)>();
        foreach (var (name, t) in model.NamedParameters().Concat(model.NamedBuffers())) tensors.Add(($"model.{name}", t));
        foreach (var (name, t) in optimizer.NamedState()) tensors.Add(($"optimizer.{name}", t));
        if (bestWeights is not null)
            for (int i = 0; i < bestWeights.Length; i++) tensors.Add(($"best.{i}", Tensor.FromArray(bestWeights[i])));
        var metadata = new Dictionary<string, string>(extra ?? new Dictionary<string, string>())
        {
            [StateKey] = JsonSerializer.Serialize(state, TrainingStateJson.Default.TrainingState),
        };
        IReadOnlyList<(string, Tensor)> written = FailAtTensor.Value is { } k ? new FailingList(tensors, k) : tensors;
        SafeTensors.Write(PathIn(directory), written, metadata);
    }

    /// <summary>Loads the checkpoint into the model, optimizer and loader; returns the state and best weights.</summary>
    internal static (TrainingState State, float[][]? BestWeights) Load(string directory, Module model, Optimizer optimizer,
        DataLoader loader, int seed)
    {
        var path = Existing(directory);
        var (tensors, metadata) = SafeTensors.Read(path);
        var state = ReadState(path, metadata);
        foreach (var (name, t) in tensors) FiniteWeights.Check(path, name, t);

        if (state.TrainCount != loader.Data.Count)
            throw new InvalidOperationException($"the checkpoint {path} was trained on {state.TrainCount} rows but this run has {loader.Data.Count}; resume with the same data.");
        if (state.BatchSize != loader.BatchSize)
            throw new InvalidOperationException($"the checkpoint {path} used batch size {state.BatchSize} but this run uses {loader.BatchSize}.");
        if (state.Seed != seed)
            throw new InvalidOperationException($"the checkpoint {path} used seed {state.Seed} but this run uses {seed}.");
        if (state.Optimizer != optimizer.Name)
            throw new InvalidOperationException($"the checkpoint {path} was trained with {state.Optimizer} but this run uses {optimizer.Name}.");
        FitSchedule.CheckBaseRates(path, state, optimizer);

        RestoreModel(path, tensors, state.Generators, state.StepCount, model, optimizer);
        FitSchedule.RestoreRates(state, optimizer);
        if (state.LoaderRng.Length == 4) loader.Rng.State = TrainingState.Unpack(state.LoaderRng);

        float[][]? best = null;
        if (tensors.ContainsKey("best.0"))
        {
            var parameters = model.Parameters();
            best = new float[parameters.Count][];
            for (int i = 0; i < best.Length; i++)
            {
                if (!tensors.TryGetValue($"best.{i}", out var b) || b.Size != parameters[i].Size)
                    throw new ModelFormatException(path, $"its best weights 'best.{i}' are missing or not of {parameters[i].Size} values.");
                best[i] = b.ToArray();
            }
        }
        return (state, best);
    }

    private static string Existing(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var path = PathIn(directory);
        if (!File.Exists(path)) throw new FileNotFoundException($"there is no checkpoint to resume in '{directory}' (expected {path}).", path);
        return path;
    }

    private static TrainingState ReadState(string path, Dictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue(StateKey, out var json))
            throw new ModelFormatException(path, "it is a safetensors file but not a Backprop training checkpoint.");
        try
        {
            return JsonSerializer.Deserialize(json, TrainingStateJson.Default.TrainingState) ?? throw new ModelFormatException(path, "its training state is empty.");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, $"its training state is invalid: {e.Message}", e);
        }
    }

    /// <summary>A tensor list whose second enumeration (SafeTensors' data pass) throws before item k: a crash mid-write.</summary>
    private sealed class FailingList(List<(string, Tensor)> items, int failAt) : IReadOnlyList<(string, Tensor)>
    {
        private int enumerations;

        public (string, Tensor) this[int index] => items[index];

        public int Count => items.Count;

        public IEnumerator<(string, Tensor)> GetEnumerator()
        {
            bool dataPass = ++enumerations >= 2;
            for (int i = 0; i < items.Count; i++)
            {
                if (dataPass && i == failAt) throw new IOException($"simulated crash while writing tensor {i} of the checkpoint.");
                yield return items[i];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>
    /// The part of every resume that checks the checkpoint holds this model (each tensor by name and shape, no other,
    /// the same random generators) and then loads, in this order, the optimizer's state, the model's tensors and its
    /// generators' states. Used by <c>Fit</c>'s checkpoints and by text training's.
    /// </summary>
    /// <exception cref="InvalidOperationException">The checkpoint holds another model, or state another optimizer wrote.</exception>
    internal static void RestoreModel(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, uint[]> generatorStates,
        long stepCount, Module model, Optimizer optimizer)
    {
        var modelTensors = model.NamedParameters().Concat(model.NamedBuffers()).ToList();
        foreach (var (name, t) in modelTensors)
        {
            if (!tensors.TryGetValue($"model.{name}", out var stored))
                throw new InvalidOperationException($"this model has tensor '{name}' {Shapes.Format(t.dims)} but the checkpoint {path} has none: it holds another model.");
            if (!Shapes.Equal(stored.dims, t.dims))
                throw new InvalidOperationException($"this model's tensor '{name}' is {Shapes.Format(t.dims)} but the checkpoint {path} stores {Shapes.Format(stored.dims)}: it holds another model.");
        }
        var extraModel = tensors.Keys.Where(k => k.StartsWith("model.", StringComparison.Ordinal))
            .Except(modelTensors.Select(m => $"model.{m.Name}")).ToList();
        if (extraModel.Count > 0)
            throw new InvalidOperationException($"the checkpoint {path} holds tensors this model lacks ({string.Join(", ", extraModel.Select(k => k[6..]))}): it holds another model.");
        var generators = model.NamedGenerators().ToList();
        var missing = generators.Select(g => g.Name).Where(n => !generatorStates.ContainsKey(n)).ToList();
        if (missing.Count > 0 || generatorStates.Count != generators.Count)
            throw new InvalidOperationException($"this model's random generators ({string.Join(", ", generators.Select(g => g.Name))}) differ from the checkpoint's ({string.Join(", ", generatorStates.Keys)}).");

        var optimizerState = tensors.Where(kv => kv.Key.StartsWith("optimizer.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key["optimizer.".Length..], kv => kv.Value);
        try { optimizer.LoadState(optimizerState, stepCount); }
        catch (ArgumentException e) { throw new InvalidOperationException($"the checkpoint {path} does not fit this optimizer: {e.Message}", e); }

        foreach (var (name, t) in modelTensors)
        {
            tensors[$"model.{name}"].AsSpan().CopyTo(t.AsSpan());
            t.MarkWritten();
        }
        foreach (var (name, g) in generators) g.State = TrainingState.Unpack(generatorStates[name]);
    }
}
