using Backprop.Nn;

namespace Backprop.IO;

/// <summary>
/// Which PyTorch module's tensors go to which layer of a model (the rule is described on <see cref="TorchWeights"/>).
/// Every failure is a <see cref="ModelFormatException"/> naming the modules, the layers and their shapes.
/// </summary>
internal static class TorchMatching
{
    /// <summary>The tensors of one PyTorch module: its path (<c>features.0</c>; empty at the top level) and its tensors by leaf name.</summary>
    public sealed record Group(string Prefix, IReadOnlyDictionary<string, SafeTensorsEntry> Tensors)
    {
        /// <summary>e.g. <c>fc1 (weight [10, 128], bias [10])</c>.</summary>
        public override string ToString() =>
            $"{Shown(Prefix)} ({string.Join(", ", Tensors.Values.OrderBy(e => e.Name, StringComparer.Ordinal).Select(e => $"{Leaf(e.Name)} {Shapes.Format([.. e.Shape])}"))})";
    }

    /// <summary>The file's tensors grouped by module path, sorted by <see cref="TorchModulePath"/>.</summary>
    public static List<Group> Groups(IReadOnlyDictionary<string, SafeTensorsEntry> entries) =>
        [.. entries.Values.GroupBy(e => Prefix(e.Name))
            .Select(g => new Group(g.Key, g.ToDictionary(e => Leaf(e.Name))))
            .OrderBy(g => g.Prefix, TorchModulePath.Order)];

    /// <summary>Each layer with its module, and the rule that ordered them.</summary>
    public static (List<(TorchLayout.Layer Layer, Group Group)> Pairs, TorchImportRule Rule) Match(
        string path, List<TorchLayout.Layer> layers, List<Group> groups, IReadOnlyList<string>? order)
    {
        if (layers.Count == 0)
            throw new ModelFormatException(path, "the model has no layer with weights to load PyTorch tensors into.");
        if (order is not null) return (Given(path, layers, groups, order), TorchImportRule.Given);
        if (groups.Count == layers.Count && layers.Select((l, i) => Misfit(l, groups[i])).All(p => p is null))
            return ([.. layers.Zip(groups)], TorchImportRule.Names);
        return (ByShape(path, layers, groups), TorchImportRule.Shapes);
    }

    private static List<(TorchLayout.Layer, Group)> Given(string path, List<TorchLayout.Layer> layers, List<Group> groups, IReadOnlyList<string> order)
    {
        var byPrefix = groups.ToDictionary(g => g.Prefix);
        var unknown = order.Where(o => !byPrefix.ContainsKey(o)).ToList();
        if (unknown.Count > 0)
            throw new ModelFormatException(path, $"the order names {Quoted(unknown)}, which the file holds no tensors under; its modules are: {string.Join(", ", groups.Select(g => Shown(g.Prefix)))}.");
        var twice = order.GroupBy(o => o).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null)
            throw new ModelFormatException(path, $"the order names '{twice.Key}' {twice.Count()} times; name each PyTorch module once.");
        if (order.Count != layers.Count)
            throw new ModelFormatException(path, $"the order names {order.Count} module(s) but the model has {layers.Count} layer(s) with weights: {string.Join("; ", layers)}.");
        var left = groups.Where(g => !order.Contains(g.Prefix)).ToList();
        if (left.Count > 0)
            throw new ModelFormatException(path, $"the order leaves out {string.Join("; ", left)}; every tensor in the file must go to a layer.");
        var pairs = new List<(TorchLayout.Layer, Group)>();
        for (int i = 0; i < layers.Count; i++)
        {
            var group = byPrefix[order[i]];
            if (Misfit(layers[i], group) is { } problem)
                throw new ModelFormatException(path, $"the order puts PyTorch module {Shown(group.Prefix)} on layer {i + 1} of {layers.Count} with weights, {layers[i]}, but {problem}.");
            pairs.Add((layers[i], group));
        }
        return pairs;
    }

    // Each layer, in the model's order, takes the one unused module that fits it.
    private static List<(TorchLayout.Layer, Group)> ByShape(string path, List<TorchLayout.Layer> layers, List<Group> groups)
    {
        var unused = new List<Group>(groups);
        var pairs = new List<(TorchLayout.Layer, Group)>();
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            var fits = unused.Where(g => Misfit(layer, g) is null).ToList();
            if (fits.Count == 0)
            {
                string why = i < groups.Count && unused.Contains(groups[i]) && Misfit(layer, groups[i]) is { } p ? $" ({Shown(groups[i].Prefix)}, next by name: {p})" : "";
                throw new ModelFormatException(path,
                    $"no PyTorch module in the file fits layer {i + 1} of {layers.Count} with weights, {layer}, which needs {Needs(layer)}{why}. " +
                    (unused.Count == 0 ? $"The file's {groups.Count} module(s) all went to earlier layers." : $"Modules left: {string.Join("; ", unused)}.") +
                    " Check that the model spec and input shape describe the PyTorch model.");
            }
            if (fits.Count > 1)
                throw new ModelFormatException(path,
                    $"cannot tell which PyTorch module goes to layer {i + 1} of {layers.Count} with weights, {layer}: the module names do not sort in the model's order, " +
                    $"and {Quoted(fits.Select(f => f.Prefix))} all fit it. Name the modules in the order the model uses them (option --order, or TorchImportOptions.Order); the file's modules are: {string.Join(", ", groups.Select(g => Shown(g.Prefix)))}.");
            pairs.Add((layer, fits[0]));
            unused.Remove(fits[0]);
        }
        if (unused.Count > 0)
            throw new ModelFormatException(path,
                $"the model's {layers.Count} layer(s) with weights are filled, but the file holds more: {string.Join("; ", unused)} fit(s) no layer. " +
                "Check that the model spec describes the whole PyTorch model.");
        return pairs;
    }

    /// <summary>Why <paramref name="group"/> cannot fill <paramref name="layer"/>, or null when it can.</summary>
    public static string? Misfit(TorchLayout.Layer layer, Group group)
    {
        var names = layer.Slots.Select(s => s.Name).ToHashSet();
        var missing = layer.Slots.Where(s => !s.Counter && !group.Tensors.ContainsKey(s.Name)).Select(s => s.Name).ToList();
        var extra = group.Tensors.Keys.Where(k => !names.Contains(k)).Order(StringComparer.Ordinal).ToList();
        if (missing.Count > 0 || extra.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"lacks {string.Join(", ", missing)}");
            if (extra.Count > 0) parts.Add($"has {string.Join(", ", extra)}, which the layer does not");
            return $"{Shown(group.Prefix)} {string.Join(" and ", parts)} ({layer.Module} holds {string.Join(", ", layer.Slots.Select(s => s.Name))})";
        }
        foreach (var slot in layer.Slots)
        {
            if (!group.Tensors.TryGetValue(slot.Name, out var entry) || entry.Shape.SequenceEqual(slot.TorchShape)) continue;
            string layout = slot.Transposed ? $" (nn.Linear's [out, in]; Backprop stores it transposed, {Shapes.Format(slot.Tensor.dims)})" : "";
            return $"'{entry.Name}' is {Shapes.Format([.. entry.Shape])} where {layer.Module} needs {slot.Name} {Shapes.Format(slot.TorchShape)}{layout}";
        }
        return null;
    }

    private static string Needs(TorchLayout.Layer layer) =>
        string.Join(", ", layer.Slots.Select(s => $"{s.Name} {Shapes.Format(s.TorchShape)}{(s.Transposed ? " (as nn.Linear stores it)" : "")}"));

    private static string Prefix(string name) => name.LastIndexOf('.') is var dot and >= 0 ? name[..dot] : "";

    private static string Leaf(string name) => name[(name.LastIndexOf('.') + 1)..];

    private static string Shown(string prefix) => prefix.Length == 0 ? "(top level)" : $"'{prefix}'";

    private static string Quoted(IEnumerable<string> names) => string.Join(", ", names.Select(Shown));
}
