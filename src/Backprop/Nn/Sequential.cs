using System.Globalization;
using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>Layers applied one after another: the output of each is the input of the next.</summary>
public sealed class Sequential : Module
{
    private readonly List<Module> layers;

    /// <summary>Creates a model from its layers, first to last.</summary>
    public Sequential(params Module[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Any(l => l is null)) throw new ArgumentNullException(nameof(layers), "a layer of the Sequential is null.");
        this.layers = [.. layers];
    }

    /// <summary>The layers, first to last.</summary>
    public IReadOnlyList<Module> Layers => layers;

    /// <summary>Appends a layer.</summary>
    public Sequential Add(Module layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        layers.Add(layer);
        return this;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var layer in layers) x = layer.Call(x);
        return x;
    }

    /// <inheritdoc/>
    public override IEnumerable<(string Name, Module Module)> Children() =>
        layers.Select((l, i) => (i.ToString(CultureInfo.InvariantCulture), l));

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new() { ["type"] = "Sequential", ["layers"] = new JsonArray([.. layers.Select(l => (JsonNode)l.ToSpec())]) };

    /// <summary>
    /// The layers of <paramref name="module"/> in call order with nested Sequentials expanded, each with its path
    /// (<c>model.0</c>, <c>model.1.0</c>, ...); a module that is not a Sequential is its own single layer.
    /// </summary>
    internal static List<(string Path, Module Module)> Leaves(Module module, string path = "model")
    {
        var into = new List<(string, Module)>();
        AddLeaves(module, path, into);
        return into;
    }

    private static void AddLeaves(Module module, string path, List<(string, Module)> into)
    {
        if (module is Sequential seq)
        {
            for (int i = 0; i < seq.layers.Count; i++) AddLeaves(seq.layers[i], $"{path}.{i}", into);
            return;
        }
        into.Add((path, module));
    }

    /// <inheritdoc/>
    public override string ToString() => $"Sequential({string.Join(" → ", layers)})";
}
