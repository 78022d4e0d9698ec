using Backprop.Onnx.Proto;

namespace Backprop.Onnx.Tests;

/// <summary>
/// The checks of onnx.checker that a Backprop file can fail, done without Python: IR version and opset, every node
/// input produced before it is read (graph input, initializer or an earlier node), unique value and node names,
/// initializer values matching their dims, the graph output produced, and a symbolic batch dimension.
/// </summary>
internal static class OnnxStructure
{
    public static OnnxModel Check(byte[] bytes)
    {
        var model = OnnxDecoder.Decode(bytes);
        Assert.Equal(8, model.IrVersion);
        Assert.Equal(17, Assert.Single(model.Opsets, o => o.Domain == "").Version);
        var graph = model.Graph;

        var produced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in graph.Initializers)
        {
            Assert.True(produced.Add(t.Name), $"initializer '{t.Name}' is named twice");
            long count = t.Dims.Aggregate(1L, (a, d) => a * d);
            long stored = t.Floats?.Length ?? t.Int64s?.Length ?? -1;
            Assert.True(count == stored, $"initializer '{t.Name}' has dims [{string.Join(", ", t.Dims)}] but holds {stored} values");
        }
        var input = Assert.Single(graph.Inputs);
        Assert.True(produced.Add(input.Name), $"input '{input.Name}' is also an initializer");
        Assert.Equal("batch", input.Shape![0].Param);
        Assert.All(input.Shape.Skip(1), d => Assert.True(d.Value > 0));

        var nodeNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            Assert.True(nodeNames.Add(node.Name), $"node name '{node.Name}' is used twice");
            Assert.Equal("", node.Domain);
            foreach (var i in node.Inputs)   // "" marks an optional input left out (Resize's roi), as ONNX allows
                Assert.True(i.Length == 0 || produced.Contains(i), $"node '{node.Name}' reads '{i}', which nothing before it produces");
            foreach (var o in node.Outputs)
                Assert.True(produced.Add(o), $"node '{node.Name}' writes '{o}', which is already defined");
        }
        var output = Assert.Single(graph.Outputs);
        Assert.Contains(output.Name, produced);
        Assert.Equal("batch", output.Shape![0].Param);
        return model;
    }
}
