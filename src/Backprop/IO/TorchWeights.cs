using Backprop.Nn;

namespace Backprop.IO;

/// <summary>Options of <see cref="TorchWeights.Import(Module, string, TorchImportOptions?)"/>.</summary>
public sealed record TorchImportOptions
{
    /// <summary>
    /// The PyTorch module paths that hold tensors (<c>conv1</c>, <c>features.0</c>, ...) in the order the model's
    /// layers use them, one per layer with weights; null: the order of <see cref="TorchWeights"/>' rule. Needed when
    /// named submodules do not sort in definition order and their shapes cannot tell them apart.
    /// </summary>
    public IReadOnlyList<string>? Order { get; init; }
}

/// <summary>One PyTorch module matched to one layer of the model by <see cref="TorchWeights.Import(Module, string, TorchImportOptions?)"/>.</summary>
/// <param name="TorchModule">The PyTorch module path, e.g. <c>features.0</c> (empty for tensors at the top level).</param>
/// <param name="Layer">The layer, e.g. <c>Conv2d(1→4, 3×3)</c>.</param>
/// <param name="LayerPath">The layer's path in the model, e.g. <c>1</c>.</param>
/// <param name="Tensors">The tensor names copied, with the stored dtype when it is not F32, e.g. <c>num_batches_tracked (I64)</c>.</param>
public sealed record TorchImportMatch(string TorchModule, string Layer, string LayerPath, IReadOnlyList<string> Tensors);

/// <summary>How <see cref="TorchWeights.Import(Module, string, TorchImportOptions?)"/> ordered the PyTorch modules.</summary>
public enum TorchImportRule
{
    /// <summary>The module paths sorted (numbers by value, names naturally) fit the layers one to one.</summary>
    Names,
    /// <summary>The sorted paths did not fit, and each layer took the one module whose tensor names and shapes fit it.</summary>
    Shapes,
    /// <summary>The order was given (<see cref="TorchImportOptions.Order"/>).</summary>
    Given,
}

/// <summary>What <see cref="TorchWeights.Import(Module, string, TorchImportOptions?)"/> did.</summary>
/// <param name="Matches">Each PyTorch module and the layer it went to, in the model's order.</param>
/// <param name="Rule">How the order was found.</param>
public sealed record TorchImportResult(IReadOnlyList<TorchImportMatch> Matches, TorchImportRule Rule);

/// <summary>What <see cref="TorchWeights.Export"/> wrote.</summary>
/// <param name="Names">The PyTorch state-dict names written.</param>
/// <param name="PyTorchModule">The nn.Sequential those names belong to, as Python (e.g. <c>nn.Sequential(nn.Linear(4, 16), nn.Tanh(), ...)</c>),
/// or null when the model holds a layer with no PyTorch counterpart here (a custom module: its names are kept).</param>
public sealed record TorchExportResult(IReadOnlyList<string> Names, string? PyTorchModule);

/// <summary>
/// PyTorch state dicts saved with safetensors (<c>safetensors.torch.save_file(model.state_dict(), path)</c>), into a
/// Backprop model and out of one.
/// </summary>
/// <remarks>
/// <para>Layouts: Conv2d, BatchNorm and every other layer store their tensors as PyTorch does, under the same names
/// (<c>weight</c>, <c>bias</c>, <c>running_mean</c>, <c>running_var</c>, <c>num_batches_tracked</c>); Dense stores W as
/// [in, out], the transpose of nn.Linear's [out, in], so both directions transpose it; <c>num_batches_tracked</c> is
/// float32 here and I64 in PyTorch. Any stored dtype is read (F16/BF16 exactly, F64 rounded to float32).</para>
/// <para>Import matches tensors to layers by position, not by name, so a PyTorch model whose layer numbers differ
/// (Backprop's leading Reshape, activations as layers or not) still loads: the tensors are grouped by module path
/// (the name up to its last dot), and the groups are matched in order to the model's layers that hold tensors. The
/// order is <see cref="TorchImportOptions.Order"/> when given; else the paths sorted segment by segment (numbers by
/// value, names in natural order: <c>0 &lt; 2 &lt; 10</c>, <c>features.0 &lt; features.3</c>, <c>fc1 &lt; fc2</c>), which
/// is nn.Sequential's order; when that order does not fit the layers' tensor names and shapes (named submodules such
/// as <c>conv1, bn1, fc1</c> sort differently from how they are defined), each layer takes the one module that fits
/// it, and two that fit are refused as ambiguous. Every tensor must land and every layer must be filled; a shape
/// that does not fit is refused naming both sides.</para>
/// <para>Export writes the names of the equivalent nn.Sequential: one index per Backprop layer (activations,
/// pooling, flatten and dropout are modules of their own, as in PyTorch), without the Reshape that the model
/// language puts first for images (PyTorch takes [N, C, H, W] directly).</para>
/// </remarks>
public static class TorchWeights
{
    /// <summary>Loads the PyTorch state dict in the safetensors file at <paramref name="path"/> into <paramref name="model"/>.</summary>
    /// <exception cref="ModelFormatException">The file is unreadable, or its tensors do not fit the model; the message
    /// names the PyTorch tensors and the layers, with both shapes.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static TorchImportResult Import(Module model, string path, TorchImportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (entries, _) = SafeTensors.ReadEntries(path);
        return Import(model, entries, path, options);
    }

    /// <summary>Loads the PyTorch tensors <paramref name="entries"/> (read from <paramref name="path"/>, named in messages) into <paramref name="model"/>.</summary>
    /// <exception cref="ModelFormatException">The tensors do not fit the model.</exception>
    public static TorchImportResult Import(Module model, IReadOnlyDictionary<string, SafeTensorsEntry> entries, string path, TorchImportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(entries);
        var layers = TorchLayout.Layers(model);
        var groups = TorchMatching.Groups(entries);
        var (pairs, rule) = TorchMatching.Match(path, layers, groups, options?.Order);

        var state = new Dictionary<string, Tensor>();
        var matches = new List<TorchImportMatch>();
        foreach (var (layer, group) in pairs)
        {
            var copied = new List<string>();
            foreach (var slot in layer.Slots)
            {
                if (!group.Tensors.TryGetValue(slot.Name, out var entry)) continue;   // an optional counter
                var t = entry.ToTensor(roundIntegers: slot.Counter);
                FiniteWeights.Check(path, entry.Name, t);
                if (slot.Transposed) t = TorchLayout.Transpose(t);
                state[layer.Path.Length == 0 ? slot.Name : $"{layer.Path}.{slot.Name}"] = t;
                copied.Add(entry.DType == SafeTensorsDType.F32 ? slot.Name : $"{slot.Name} ({SafeTensorsDTypes.Name(entry.DType)})");
            }
            matches.Add(new TorchImportMatch(group.Prefix, layer.Module.ToString()!, layer.Path, copied));
        }
        try
        {
            model.LoadStateDict(state, strict: false);
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException(path, e.Message, e);
        }
        return new TorchImportResult(matches, rule);
    }

    /// <summary>
    /// The PyTorch state dict of <paramref name="model"/>: the names of the equivalent nn.Sequential (see the
    /// remarks on <see cref="TorchWeights"/>), Dense weights transposed to [out, in], and the dtype each tensor has in
    /// PyTorch (I64 for <c>num_batches_tracked</c>, F32 for the rest).
    /// </summary>
    public static (IReadOnlyList<(string Name, Tensor Tensor)> Tensors, IReadOnlyDictionary<string, SafeTensorsDType> DTypes) ToTorchStateDict(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        bool dropFirst = LeadingReshape(model);
        var tensors = new List<(string, Tensor)>();
        var dtypes = new Dictionary<string, SafeTensorsDType>();
        foreach (var layer in TorchLayout.Layers(model))
        {
            string prefix = dropFirst ? Renumbered(layer.Path) : layer.Path;
            foreach (var slot in layer.Slots)
            {
                string name = prefix.Length == 0 ? slot.Name : $"{prefix}.{slot.Name}";
                tensors.Add((name, slot.Transposed ? TorchLayout.Transpose(slot.Tensor) : slot.Tensor));
                if (slot.Counter) dtypes[name] = SafeTensorsDType.I64;
            }
        }
        return (tensors, dtypes);
    }

    /// <summary>
    /// Writes <paramref name="model"/>'s weights to <paramref name="path"/> as the PyTorch state dict of
    /// <see cref="ToTorchStateDict"/>, which <c>model.load_state_dict(safetensors.torch.load_file(path))</c> takes
    /// for the nn.Sequential of <see cref="TorchExportResult.PyTorchModule"/>.
    /// </summary>
    public static TorchExportResult Export(Module model, string path)
    {
        var (tensors, dtypes) = ToTorchStateDict(model);
        SafeTensors.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt" }, dtypes);
        var module = model is Sequential s && LeadingReshape(model) ? TorchModuleText.Of(new Sequential([.. s.Layers.Skip(1)])) : TorchModuleText.Of(model);
        return new TorchExportResult([.. tensors.Select(t => t.Name)], module);
    }

    // The model language puts a Reshape in front of image models; a PyTorch model takes the images themselves.
    private static bool LeadingReshape(Module model) => model is Sequential { Layers.Count: > 1 } s && s.Layers[0] is Reshape;

    private static string Renumbered(string path)
    {
        int dot = path.IndexOf('.', StringComparison.Ordinal);
        string head = dot < 0 ? path : path[..dot];
        return (int.Parse(head, System.Globalization.CultureInfo.InvariantCulture) - 1).ToString(System.Globalization.CultureInfo.InvariantCulture)
            + (dot < 0 ? "" : path[dot..]);
    }
}
