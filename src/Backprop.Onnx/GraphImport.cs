using Backprop.IO;
using Backprop.Nn;
using Backprop.Onnx.Proto;

namespace Backprop.Onnx;

/// <summary>
/// Turns an ONNX graph that is a chain of layers (each node reads the previous node's output and constants) into a
/// <see cref="Sequential"/>, tracking the shape of one example to size each layer and check its weights.
/// </summary>
internal sealed class GraphImport
{
    /// <summary>The op types <see cref="Run"/> reads, for error messages.</summary>
    public const string Supported =
        "Gemm, MatMul (+ Add), Conv, MaxPool, AveragePool, Flatten, Reshape, BatchNormalization, Relu, Sigmoid, Tanh, LeakyRelu, Softmax, " +
        "Identity, Dropout and Pad of zeros (skipped), Sub and Div on the input (standardization), Mul and Add on the output";

    private readonly OnnxGraph graph;
    private readonly long opset;
    private readonly Dictionary<string, OnnxTensor> constants = new(StringComparer.Ordinal);
    private readonly List<Module> layers = [];
    private int[] sample = [];
    private string current = "";
    private float[]? inputMean, inputStd, targetMean, targetStd;

    private GraphImport(OnnxGraph graph, long opset)
    {
        this.graph = graph;
        this.opset = opset;
        foreach (var t in graph.Initializers) constants[t.Name] = t;
    }

    /// <summary>The model, and the standardization found around it (null where none).</summary>
    /// <exception cref="InvalidDataException">What in the graph Backprop cannot import, naming the node.</exception>
    public static (Sequential Model, float[]? InputMean, float[]? InputStd, float[]? TargetMean, float[]? TargetStd) Run(OnnxGraph graph, long opset)
    {
        var import = new GraphImport(graph, opset);
        import.Walk();
        return (new Sequential([.. import.layers]), import.inputMean, import.inputStd, import.targetMean, import.targetStd);
    }

    private void Walk()
    {
        var input = StartInput();
        current = input.Name;
        var nodes = graph.Nodes;
        for (int i = 0; i < nodes.Count; i++)
        {
            var node = new ImportNode(nodes[i], constants);
            if (node.Proto.Domain is not ("" or "ai.onnx"))
                throw node.Error($"is in operator domain '{node.Proto.Domain}'; Backprop imports the default ONNX domain's {Supported}.");
            if (node.Op == "Constant")
            {
                AddConstant(node);
                continue;
            }
            if (node.Proto.Inputs.Count == 0 || node.Proto.Inputs[0] != current)
                throw node.Error($"reads '{node.Proto.Inputs.FirstOrDefault()}' but the value flowing through the chain is '{current}'; " +
                    "Backprop imports graphs that are a chain of layers (no branches, skips or shape arithmetic).");
            if (node.Proto.Outputs.Count == 0) throw node.Error("has no output.");
            foreach (var extra in node.Proto.Inputs.Skip(1))
                if (extra.Length > 0 && !constants.ContainsKey(extra))
                    throw node.Error($"reads '{extra}', which is not a constant (an initializer or a Constant node); Backprop imports a chain of layers whose weights are constants.");
            var next = i + 1 < nodes.Count ? nodes[i + 1] : null;
            bool consumedNext;
            try { consumedNext = Layer(node, next, isLast: i == nodes.Count - 1, isFirst: layers.Count == 0 && inputMean is null); }
            catch (ArgumentException e) { throw node.Error($"cannot be built: {e.Message}"); }
            current = consumedNext ? next!.Outputs[0] : node.Proto.Outputs[0];
            if (consumedNext) i++;
        }
        var output = graph.Outputs.Count == 1 ? graph.Outputs[0]
            : throw new InvalidDataException($"the graph has {graph.Outputs.Count} outputs but Backprop imports models with exactly one.");
        if (output.Name != current)
            throw new InvalidDataException($"the graph's output is '{output.Name}' but its chain of layers ends in '{current}'.");
    }

    private OnnxValueInfo StartInput()
    {
        var inputs = graph.Inputs.Where(v => !constants.ContainsKey(v.Name)).ToList();
        if (inputs.Count != 1)
            throw new InvalidDataException($"the graph has {inputs.Count} inputs ({string.Join(", ", inputs.Select(v => $"'{v.Name}'"))}) but Backprop imports models with exactly one.");
        var input = inputs[0];
        if (input.ElemType != (int)OnnxDataType.Float)
            throw new InvalidDataException($"the graph's input '{input.Name}' has element type {input.ElemType} but Backprop imports float (type 1) inputs.");
        if (input.Shape is not { Count: >= 2 } shape)
            throw new InvalidDataException($"the graph's input '{input.Name}' has {(input.Shape is null ? "no shape" : $"rank {input.Shape.Count}")}; Backprop needs [batch, ...] with every size after the batch given.");
        for (int d = 1; d < shape.Count; d++)
            if (shape[d].Value is not (> 0 and <= int.MaxValue))
                throw new InvalidDataException($"the graph's input '{input.Name}' has dimension {d} of unknown or invalid size ({shape[d].Param ?? shape[d].Value?.ToString() ?? "not given"}); Backprop needs every size after the batch fixed.");
        sample = [.. shape.Skip(1).Select(d => (int)d.Value!.Value)];
        CheckSize($"the graph's input '{input.Name}'");
        return input;
    }

    private void AddConstant(ImportNode node)
    {
        var value = node.Proto.Attribute("value")?.T
            ?? throw node.Error("has no tensor 'value'; Backprop reads Constant nodes that hold a tensor.");
        if (node.Proto.Outputs.Count != 1) throw node.Error("should have one output.");
        value.Name = node.Proto.Outputs[0];
        constants[value.Name] = value;
    }

    // Adds the layer of one node (or of a MatMul and the Add after it); true when it used the next node too.
    private bool Layer(ImportNode node, OnnxNode? next, bool isLast, bool isFirst)
    {
        switch (node.Op)
        {
            case "Gemm": Add(Layers.Gemm(node, sample)); return false;
            case "MatMul":
                bool bias = next is { OpType: "Add", Inputs.Count: 2, Outputs.Count: > 0 } && next.Inputs[0] == node.Proto.Outputs[0]
                    && constants.ContainsKey(next.Inputs[1]);
                Add(Layers.MatMul(node, bias ? new ImportNode(next!, constants) : null, sample));
                return bias;
            case "Conv": Add(Layers.Conv(node, sample)); return false;
            case "MaxPool" or "AveragePool": Add(Layers.Pool(node, sample)); return false;
            case "Flatten":
                if (node.Int("axis", 1) != 1) throw node.Error($"flattens from axis {node.Int("axis", 1)}; Backprop's Flatten keeps the batch axis only (axis 1).");
                Add((new Flatten(), [sample.Aggregate(1, (a, d) => a * d)]));
                return false;
            case "Reshape": Add(Layers.Reshape(node, sample)); return false;
            case "BatchNormalization": Add(Layers.BatchNorm(node, sample)); return false;
            case "Relu": Add(new Relu()); return false;
            case "Sigmoid": Add(new Sigmoid()); return false;
            case "Tanh": Add(new Tanh()); return false;
            case "LeakyRelu": Add(new LeakyRelu(node.Float("alpha", 0.01f))); return false;
            case "Softmax":
                long axis = node.Int("axis", opset >= 13 ? -1 : 1);
                if (axis != -1 && axis != sample.Length)
                    throw node.Error($"takes the softmax over axis {axis} of a rank-{sample.Length + 1} value; Backprop's Softmax is over the last axis.");
                Add(new Softmax());
                return false;
            case "Identity" or "Dropout": return false;
            case "Pad" when node.Longs(1, "the pads").All(p => p == 0): return false;   // torch 1.13 puts one before AveragePool
            case "Sub" when isFirst && next is { OpType: "Div" } && sample.Length == 1:
                inputMean = node.Vector(1, "the mean", sample[0]);
                return false;
            case "Div" when inputMean is not null && inputStd is null && layers.Count == 0:
                inputStd = node.Vector(1, "the standard deviation", inputMean.Length);
                return false;
            case "Mul" when next is { OpType: "Add" } && targetStd is null && sample.Length == 1:
                targetStd = node.Vector(1, "the target standard deviation", sample[0]);
                return false;
            case "Add" when isLast && targetStd is not null:
                targetMean = node.Vector(1, "the target mean", sample[0]);
                return false;
            default:
                throw node.Error($"is not an op Backprop imports here; it imports {Supported}.");
        }
    }

    private void Add((Module Layer, int[] Sample) layer)
    {
        if (targetStd is not null) throw new InvalidDataException($"a layer follows the output scaling (Mul); Backprop imports Mul and Add only as the last two nodes.");
        layers.Add(layer.Layer);
        sample = layer.Sample;
        CheckSize($"the output of {layer.Layer}");
    }

    // Backprop holds a tensor in one array, so one example holds at most int.MaxValue values.
    private void CheckSize(string what)
    {
        long size = 1;
        foreach (var d in sample)
            if ((size *= d) > int.MaxValue)
                throw new InvalidDataException($"{what} has examples of shape [{string.Join(", ", sample)}], more values than Backprop holds in one tensor.");
    }

    private void Add(Module activation) => Add((activation, sample));
}
