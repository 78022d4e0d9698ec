using Backprop.Explain;

namespace Backprop.Tests.Explain;

/// <summary>DOT export of recorded graphs: seed 004's circuit and seed 001's step.</summary>
public sealed class GraphExportTests
{
    private static GradResult SeedCircuit() =>
        Expression.Grad("(x+y)*z", new Dictionary<string, float> { ["x"] = -2f, ["y"] = 5f, ["z"] = -4f });

    [Fact]
    public void SeedCircuitHasItsValuesGradientsGatesAndEdges()
    {
        var dot = GraphExport.ToDot(SeedCircuit().Root);
        // Inputs before outputs: x = t0, y = t1, x + y = t2, z = t3, f = t4.
        Assert.StartsWith("digraph backprop {\n  rankdir=LR;\n", dot);
        Assert.Contains("t0 [shape=record, style=filled, fillcolor=\"#dbeafe\", label=\"{ x | -2.0000 | grad -4.0000 }\"];", dot);
        Assert.Contains("t1 [shape=record, style=filled, fillcolor=\"#dbeafe\", label=\"{ y | 5.0000 | grad -4.0000 }\"];", dot);
        Assert.Contains("label=\"{ x + y | 3.0000 | grad -4.0000 }\"", dot);
        Assert.Contains("t3 [shape=record, style=filled, fillcolor=\"#dbeafe\", label=\"{ z | -4.0000 | grad 3.0000 }\"];", dot);
        Assert.Contains("t4 [shape=record, style=filled, fillcolor=\"#fde68a\", label=\"{ (x + y) * z | -12.0000 | grad 1.0000 }\"];", dot);
        Assert.Contains("t2_op [shape=circle, fixedsize=false, margin=0.02, label=\"+\"];", dot);
        Assert.Contains("t4_op [shape=circle, fixedsize=false, margin=0.02, label=\"×\"];", dot);
        string[] edges = ["t0 -> t2_op;", "t1 -> t2_op;", "t2_op -> t2;", "t2 -> t4_op;", "t3 -> t4_op;", "t4_op -> t4;"];
        foreach (var e in edges) Assert.Contains("  " + e + "\n", dot);
        Assert.Equal(edges.Length, dot.Split('\n').Count(l => l.Contains("->", StringComparison.Ordinal)));
        Assert.EndsWith("}\n", dot);
    }

    [Fact]
    public void SameGraphGivesTheSameText() =>
        Assert.Equal(GraphExport.ToDot(SeedCircuit().Root), GraphExport.ToDot(SeedCircuit().Root));

    [Fact]
    public void MaxGateConstantsAndReusedInputs()
    {
        var r = Expression.Grad("max(x, y) * 2 + x*x", new Dictionary<string, float> { ["x"] = 4f, ["y"] = 9f });
        var dot = GraphExport.ToDot(r.Root, decimals: 1);
        Assert.Contains("label=\"max\"", dot);
        // A constant: grey, no gradient.
        Assert.Contains("fillcolor=\"#f3f4f6\", label=\"{ 2.0 }\"", dot);
        // x·x reads x twice: two edges into the same gate.
        var xx = dot.Split('\n').Single(l => l.Contains("label=\"{ x * x |", StringComparison.Ordinal)).Trim().Split(' ')[0];
        Assert.Equal(2, dot.Split('\n').Count(l => l.Trim() == $"t0 -> {xx}_op;"));
        Assert.Contains("label=\"{ x | 4.0 | grad 8.0 }\"", dot);   // 0 from max (y won) + 2x from x·x
    }

    [Fact]
    public void SeedStepShowsMatricesByShapeAndSmallOnesByValue()
    {
        var trace = SeedExample.Trace();
        var dot = GraphExport.ToDot(trace.Loss, decimals: 2);
        Assert.Contains("label=\"{ X | shape [3,4] }\"", dot);                      // 12 elements: too many to show
        Assert.Contains("label=\"{ O_in | shape [3,3] | grad shape [3,3] }\"", dot);
        Assert.Contains("label=\"{ 2N | 18.00 }\"", dot);
        Assert.Contains("label=\"{ E | 0.14 | grad 1.00 }\"", dot);
        Assert.Contains("{ W2 | [[ 0.00 -0.10  0.20]\\n [ 0.60 -0.50  0.50]] | grad\\n[[0.02 0.00 0.02]\\n [0.01 0.00 0.02]] }", dot);
        foreach (var gate in new[] { "•", "σ", "−", "Σ", "÷", "×" }) Assert.Contains($"label=\"{gate}\"", dot);
    }

    [Fact]
    public void LabelsEscapeRecordAndStringSyntax()
    {
        var t = Tensor.Scalar(1f).RequireGrad();
        t.Name = "a|b {c} <d> \"e\" \\";
        var y = t * 2f;
        y.Backward();
        var dot = GraphExport.ToDot(y);
        Assert.Contains("{ a\\|b \\{c\\} \\<d\\> \\\"e\\\" \\\\ | 1.0000 | grad 2.0000 }", dot);
    }

    [Theory]
    [InlineData("add", "+")]
    [InlineData("mul", "×")]
    [InlineData("sub", "−")]
    [InlineData("div", "÷")]
    [InlineData("maximum", "max")]
    [InlineData("matmul", "•")]
    [InlineData("sigmoid", "σ")]
    [InlineData("tanh", "tanh")]
    public void OpNamesBecomeGateSymbols(string op, string symbol) => Assert.Equal(symbol, GraphExport.OpSymbol(op));
}
