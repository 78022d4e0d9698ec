using Backprop.Onnx.Proto;

namespace Backprop.Onnx;

/// <summary>
/// The graph being exported: it follows the running value (the output of the last node), names nodes
/// <c>/&lt;layer path&gt;/&lt;OpType&gt;</c> and their outputs <c>/&lt;layer path&gt;/&lt;OpType&gt;_output_0</c> as
/// <c>torch.onnx</c> does, and adds each weight once as an initializer under its model-file name.
/// </summary>
internal sealed class ExportGraph
{
    private readonly HashSet<string> names = new(StringComparer.Ordinal);
    private readonly Dictionary<Tensor, string> initializers = new(ReferenceEqualityComparer.Instance);

    public ExportGraph(string input)
    {
        Current = input;
        names.Add(input);
    }

    public OnnxGraph Graph { get; } = new() { Name = "main_graph" };

    /// <summary>The value the next node reads: the graph's input, then each node's output in turn.</summary>
    public string Current { get; private set; }

    /// <summary>
    /// Appends <paramref name="op"/> reading <see cref="Current"/> then <paramref name="inputs"/>, makes its output
    /// the current value, and returns the node.
    /// </summary>
    public OnnxNode Node(string layerPath, string op, IEnumerable<string> inputs, params OnnxAttribute[] attributes)
    {
        string name = Unique($"{Prefix(layerPath)}/{op}");
        var node = new OnnxNode { Name = name, OpType = op };
        node.Inputs.Add(Current);
        node.Inputs.AddRange(inputs);
        node.Outputs.Add(Unique($"{name}_output_0"));
        node.Attributes.AddRange(attributes);
        Graph.Nodes.Add(node);
        Current = node.Outputs[0];
        return node;
    }

    /// <summary>A layer path as a node-name prefix: <c>1.0</c> → <c>/1/0</c>, the root → empty.</summary>
    public static string Prefix(string layerPath) => layerPath.Length == 0 ? "" : "/" + layerPath.Replace('.', '/');

    /// <summary>Adds <paramref name="tensor"/>'s values as an initializer (once per tensor) and returns its name.</summary>
    public string Weight(string name, Tensor tensor)
    {
        if (initializers.TryGetValue(tensor, out var existing)) return existing;
        name = Unique(name);
        Graph.Initializers.Add(new OnnxTensor
        {
            Name = name, DataType = (int)OnnxDataType.Float, Dims = [.. tensor.Shape.Select(d => (long)d)], Floats = tensor.ToArray(),
        });
        initializers[tensor] = name;
        return name;
    }

    /// <summary>Adds a constant float vector and returns its name.</summary>
    public string Floats(string name, float[] values)
    {
        name = Unique(name);
        Graph.Initializers.Add(new OnnxTensor { Name = name, DataType = (int)OnnxDataType.Float, Dims = [values.Length], Floats = [.. values] });
        return name;
    }

    /// <summary>Adds a constant int64 vector (a shape) and returns its name.</summary>
    public string Ints(string name, long[] values)
    {
        name = Unique(name);
        Graph.Initializers.Add(new OnnxTensor { Name = name, DataType = (int)OnnxDataType.Int64, Dims = [values.Length], Int64s = values });
        return name;
    }

    /// <summary>Renames the current value to <paramref name="output"/> (the graph's output name).</summary>
    public void NameOutput(string output)
    {
        var last = Graph.Nodes.Count > 0 && Graph.Nodes[^1].Outputs[0] == Current ? Graph.Nodes[^1] : null;
        if (last is null) Node("", "Identity", []);   // a model that computes nothing still needs a node
        Graph.Nodes[^1].Outputs[0] = output;
        Current = output;
    }

    private string Unique(string name)
    {
        if (names.Add(name)) return name;
        for (int i = 1; ; i++)
            if (names.Add($"{name}_{i}")) return $"{name}_{i}";
    }
}
