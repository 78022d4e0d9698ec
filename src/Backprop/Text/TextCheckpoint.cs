using System.Text.Json;
using System.Text.Json.Serialization;
using Backprop.IO;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Text;

/// <summary>
/// The checkpoint of a <see cref="TextTrainer"/> run: one <c>checkpoint.safetensors</c> (the same name as
/// <see cref="Checkpoint"/>'s) holding the model's parameters and buffers (<c>model.*</c>) and AdamW's moments
/// (<c>optimizer.*</c>), and in its metadata the tokenizer, the step count, the window sampler's and the dropout
/// generators' states and the loss sums since the last report, plus the caller's own entries. Everything the next
/// step depends on is there, so a resumed run ends bit-identical to one never interrupted. Written to a temporary
/// file then renamed, so a crash mid-write leaves the previous checkpoint whole.
/// </summary>
public static class TextCheckpoint
{
    private const string StateKey = "backprop.text_checkpoint";

    /// <summary>The entries given as <see cref="TextTrainingOptions.CheckpointMetadata"/> when the checkpoint in <paramref name="directory"/> was written.</summary>
    /// <exception cref="FileNotFoundException">The directory holds no checkpoint.</exception>
    /// <exception cref="ModelFormatException">The file is not a text training checkpoint.</exception>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string directory)
    {
        var (path, metadata) = ReadMetadataOf(directory);
        ReadState(path, metadata);
        metadata.Remove(StateKey);
        return metadata;
    }

    /// <summary>The tokenizer the run in <paramref name="directory"/> was trained with, and the steps it has done.</summary>
    public static (Tokenizer Tokenizer, int Step) ReadPosition(string directory)
    {
        var (path, metadata) = ReadMetadataOf(directory);
        var state = ReadState(path, metadata);
        return (state.Tokenizer, state.Step);
    }

    /// <summary>Whether <paramref name="directory"/> holds a checkpoint of a text run (false for none, or for a <c>Fit</c> checkpoint).</summary>
    public static bool Holds(string directory)
    {
        if (!File.Exists(Checkpoint.PathIn(directory))) return false;
        return SafeTensors.ReadEntries(Checkpoint.PathIn(directory)).Metadata.ContainsKey(StateKey);
    }

    internal static void Save(string directory, TextRunState state, LanguageModel model, Optimizer optimizer, IReadOnlyDictionary<string, string>? extra)
    {
        var tensors = new List<(string Name, Tensor Tensor)>();
        foreach (var (name, t) in model.NamedParameters().Concat(model.NamedBuffers())) tensors.Add(($"model.{name}", t));
        foreach (var (name, t) in optimizer.NamedState()) tensors.Add(($"optimizer.{name}", t));
        state.Generators = model.NamedGenerators().ToDictionary(g => g.Name, g => TrainingState.Pack(g.Generator.State));
        state.StepCount = optimizer.StepCount;
        var metadata = new Dictionary<string, string>(extra ?? new Dictionary<string, string>())
        {
            [StateKey] = JsonSerializer.Serialize(state, TextRunStateJson.Default.TextRunState),
        };
        Directory.CreateDirectory(directory);
        SafeTensors.Write(Checkpoint.PathIn(directory), tensors, metadata);
    }

    /// <summary>Loads the checkpoint into the model and optimizer; returns the run's state. Refuses another model, tokenizer or run shape.</summary>
    internal static TextRunState Load(string directory, LanguageModel model, Optimizer optimizer, Tokenizer tokenizer, TextTrainingOptions options, int context)
    {
        var path = Checkpoint.PathIn(directory);
        if (!File.Exists(path)) throw new FileNotFoundException($"there is no checkpoint to resume in '{directory}' (expected {path}).", path);
        var (tensors, metadata) = SafeTensors.Read(path);
        var state = ReadState(path, metadata);
        foreach (var (name, t) in tensors) FiniteWeights.Check(path, name, t);
        if (state.Tokenizer.Kind != tokenizer.Kind || state.Tokenizer.Vocabulary != tokenizer.Vocabulary)
            throw new InvalidOperationException($"the checkpoint {path} was trained with tokenizer {state.Tokenizer} but this run has {tokenizer}.");
        if (state.Batch != options.Batch || state.Seed != options.Seed || state.Steps != options.Steps || state.Context != context)
            throw new InvalidOperationException($"the checkpoint {path} is of a run of {state.Steps} steps of batch {state.Batch}, context {state.Context}, seed {state.Seed}, " +
                $"but this run has {options.Steps} steps of batch {options.Batch}, context {context}, seed {options.Seed}.");

        Checkpoint.RestoreModel(path, tensors, state.Generators, state.StepCount, model, optimizer);
        return state;
    }

    private static (string Path, Dictionary<string, string> Metadata) ReadMetadataOf(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var path = Checkpoint.PathIn(directory);
        if (!File.Exists(path)) throw new FileNotFoundException($"there is no checkpoint to resume in '{directory}' (expected {path}).", path);
        return (path, SafeTensors.ReadEntries(path).Metadata);
    }

    private static TextRunState ReadState(string path, Dictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue(StateKey, out var json))
            throw new ModelFormatException(path, "it is a safetensors file but not a checkpoint of 'train --text' (a text training run).");
        try
        {
            return JsonSerializer.Deserialize(json, TextRunStateJson.Default.TextRunState) ?? throw new ModelFormatException(path, "its training state is empty.");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, $"its training state is invalid: {e.Message}", e);
        }
    }
}

/// <summary>Where a text run stands, beside the tensors of its checkpoint.</summary>
internal sealed class TextRunState
{
    public int Step { get; set; }
    public long StepCount { get; set; }
    public uint[] SamplerRng { get; set; } = [];
    public Dictionary<string, uint[]> Generators { get; set; } = [];

    // The running train-loss sums since the last report, so the next report is the one the uninterrupted run makes.
    public double LossSum { get; set; }
    public int LossCount { get; set; }

    // What the run was made of, to refuse resuming another.
    public Tokenizer Tokenizer { get; set; } = Tokenizer.ByteLevel;
    public int Steps { get; set; }
    public int Batch { get; set; }
    public long Seed { get; set; }
    public int Context { get; set; }
}

// Source-generated, so trimmed and native AOT builds read and write it without reflection.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(TextRunState))]
internal sealed partial class TextRunStateJson : JsonSerializerContext;
