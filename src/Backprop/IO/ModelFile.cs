using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Backprop.Nn;

namespace Backprop.IO;

/// <summary>
/// Saves a model as one <c>.safetensors</c> file: its parameters as tensors named by path (<c>0.weight</c>, ...), and
/// in the header's metadata its architecture as JSON plus a <see cref="ModelInfo"/>. Loading rebuilds the modules
/// from a fixed list of known layer types (never by reflecting on a type name from the file).
/// </summary>
public static class ModelFile
{
    private const string FormatKey = "backprop.format";
    private const string ArchitectureKey = "backprop.architecture";
    private const string InfoKey = "backprop.info";
    private const string FormatVersion = "1";

    /// <summary>Writes <paramref name="model"/> (and optional <paramref name="info"/>) to <paramref name="path"/>.</summary>
    /// <exception cref="InvalidOperationException">
    /// A layer is used more than once, or two layers share a tensor: the file's architecture lists each use as its
    /// own layer, so loading would untie them. Nothing is written. (A training checkpoint keeps the sharing.)
    /// </exception>
    public static void Save(this Module model, string path, ModelInfo? info = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        RefuseSharedTensors(model, path);
        var metadata = new Dictionary<string, string>
        {
            [FormatKey] = FormatVersion,
            [ArchitectureKey] = model.ToSpec().ToJsonString(),
        };
        if (info is not null) metadata[InfoKey] = JsonSerializer.Serialize(info, ModelInfoJson.Default.ModelInfo);
        SafeTensors.Write(path, [.. model.NamedParameters(), .. model.NamedBuffers()], metadata);
    }

    /// <summary>Reads a model written by <see cref="Save"/>.</summary>
    /// <exception cref="ModelFormatException">The file is truncated, corrupt, foreign, or inconsistent.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static (Module Model, ModelInfo Info) Load(string path)
    {
        var (tensors, metadata) = SafeTensors.Read(path);
        if (!metadata.TryGetValue(ArchitectureKey, out var architecture))
            throw new ModelFormatException(path, $"it is a safetensors file with {tensors.Count} tensor(s) but no Backprop architecture in its metadata; it was probably written by another tool (a PyTorch state dict loads with 'backprop import-torch' or TorchWeights.Import).");
        if (metadata.TryGetValue(FormatKey, out var version) && version != FormatVersion)
            throw new ModelFormatException(path, $"it uses Backprop model format {version}, but this version reads format {FormatVersion}.");

        Module model;
        try
        {
            model = ModuleSpec.Create(JsonNode.Parse(architecture));
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new ModelFormatException(path, $"its architecture metadata is invalid: {e.Message}", e);
        }

        var expected = model.NamedParameters().Concat(model.NamedBuffers()).ToList();
        foreach (var (name, p) in expected)
        {
            if (!tensors.TryGetValue(name, out var stored))
                throw new ModelFormatException(path, $"the architecture needs tensor '{name}' of shape {Shapes.Format(p.dims)} but the file has no such tensor.");
            if (!Shapes.Equal(stored.dims, p.dims))
                throw new ModelFormatException(path, $"tensor '{name}' should have shape {Shapes.Format(p.dims)} but the file stores {Shapes.Format(stored.dims)}.");
            FiniteWeights.Check(path, name, stored);
            stored.AsSpan().CopyTo(p.AsSpan());
        }
        var extra = tensors.Keys.Except(expected.Select(e => e.Name)).ToList();
        if (extra.Count > 0)
            throw new ModelFormatException(path, $"the file holds tensors the architecture does not use: {string.Join(", ", extra)}.");

        ModelInfo info = new();
        if (metadata.TryGetValue(InfoKey, out var infoJson))
        {
            try { info = JsonSerializer.Deserialize(infoJson, ModelInfoJson.Default.ModelInfo) ?? new ModelInfo(); }
            catch (JsonException e) { throw new ModelFormatException(path, $"its model info metadata is invalid: {e.Message}", e); }
        }
        model.Eval();
        return (model, info);
    }

    // A model file rebuilds each entry of the architecture as a new layer, so a shared layer would come back as
    // independent copies: refuse it, naming the layer and where it is used, before anything is written.
    private static void RefuseSharedTensors(Module model, string path)
    {
        var shared = model.SharedTensorPaths();
        if (shared.Count == 0) return;
        var modules = new Dictionary<string, Module>();
        void Index(Module m, string at)
        {
            modules[at] = m;
            foreach (var (name, child) in m.Children()) Index(child, at.Length == 0 ? name : $"{at}.{name}");
        }
        Index(model, "");

        static string Owner(string tensorPath) => tensorPath.Contains('.', StringComparison.Ordinal) ? tensorPath[..tensorPath.LastIndexOf('.')] : "";
        static string Quoted(IEnumerable<string> paths)
        {
            var quoted = paths.Select(p => $"'{p}'").ToList();
            return quoted.Count == 1 ? quoted[0] : $"{string.Join(", ", quoted[..^1])} and {quoted[^1]}";
        }
        var owners = shared[0].Select(Owner).ToList();
        var layers = owners.Select(o => modules[o]).Distinct(ReferenceEqualityComparer.Instance).ToList();
        string what = layers.Count == 1
            ? $"{layers[0]} is used at {Quoted(owners)}"
            : $"{Quoted(shared[0])} are one tensor";
        throw new InvalidOperationException(
            $"cannot save the model to '{path}': {what}, and a model file cannot express sharing (loading it would build " +
            $"independent copies). Save a model whose layers are each used once; a training checkpoint (FitOptions.CheckpointDirectory) keeps shared layers.");
    }
}
