using System.Text;

namespace Backprop.Explain;

/// <summary>
/// Draws a recorded computation graph as Graphviz DOT, the way the seeds draw circuits: each tensor a box showing
/// its name, value and gradient, each operation a gate between its inputs and its output, flowing left to right.
/// Render with <c>dot -Tsvg graph.dot -o graph.svg</c>.
/// </summary>
public static class GraphExport
{
    /// <summary>Tensors with more elements than this show their shape instead of their values.</summary>
    public const int MaxShownElements = 6;

    /// <summary>
    /// The graph that produced <paramref name="root"/> as a DOT digraph. Tensor nodes are <c>t0, t1, ...</c> in
    /// inputs-before-outputs order (so the same graph always gives the same text); the gate that produced
    /// <c>tN</c> is <c>tN_op</c>, with an edge from each input (twice for an input used twice) and one to <c>tN</c>.
    /// A node shows its gradient when it has one: leaves after <see cref="Tensor.Backward()"/>, intermediate results
    /// only if they called <see cref="Tensor.RetainGrad"/> first (<see cref="Expression"/> and <see cref="StepTrace"/>
    /// keep every gradient).
    /// </summary>
    /// <param name="root">The result to draw back from, e.g. a loss or <see cref="GradResult.Root"/>.</param>
    /// <param name="decimals">Decimals for values and gradients.</param>
    public static string ToDot(Tensor root, int decimals = 4)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentOutOfRangeException.ThrowIfNegative(decimals);
        var order = InputsFirst(root);
        var id = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < order.Count; i++) id[order[i]] = "t" + i;

        var sb = new StringBuilder();
        sb.Append("digraph backprop {\n");
        sb.Append("  rankdir=LR;\n");
        sb.Append("  node [fontname=\"Helvetica\", fontsize=11];\n");
        sb.Append("  edge [arrowsize=0.7];\n");
        foreach (var t in order)
        {
            // Leaves we differentiate with respect to are blue, constants grey, the root yellow.
            string fill = ReferenceEquals(t, root) ? "#fde68a" : !t.IsLeaf ? "white" : t.RequiresGrad ? "#dbeafe" : "#f3f4f6";
            sb.Append($"  {id[t]} [shape=record, style=filled, fillcolor=\"{fill}\", label=\"{Label(t, decimals)}\"];\n");
            if (t.IsLeaf) continue;
            string op = id[t] + "_op";
            sb.Append($"  {op} [shape=circle, fixedsize=false, margin=0.02, label=\"{EscapeString(OpSymbol(t.Op!))}\"];\n");
            foreach (var input in t.Inputs) sb.Append($"  {id[input]} -> {op};\n");
            sb.Append($"  {op} -> {id[t]};\n");
        }
        sb.Append("}\n");
        return sb.ToString();
    }

    /// <summary>The symbol drawn on the gate of an engine op: <c>add</c> → <c>+</c>, <c>mul</c> → <c>×</c>, ...</summary>
    public static string OpSymbol(string op)
    {
        ArgumentNullException.ThrowIfNull(op);
        return op switch
        {
            "add" => "+",
            "sub" => "−",
            "mul" => "×",
            "div" => "÷",
            "neg" => "neg",
            "pow" => "^",
            "maximum" => "max",
            "matmul" => "•",   // the seeds write H_outᵀ • O_delta
            "sigmoid" => "σ",
            "sqrt" => "√",
            "abs" => "|x|",
            "sum" => "Σ",
            "relu" => "ReLU",
            "leaky_relu" => "LeakyReLU",
            "log_softmax" => "log softmax",
            _ => op,
        };
    }

    /// <summary>Record label <c>{ name | value | grad g }</c>; the braces lay the fields side by side under rankdir=LR.</summary>
    private static string Label(Tensor t, int decimals)
    {
        var fields = new List<string>();
        if (!string.IsNullOrEmpty(t.Name)) fields.Add(EscapeRecord(t.Name));
        fields.Add(Values(t, decimals));
        if (t.Grad is { } g)
        {
            // A matrix's rows stay aligned when "grad" has a line of its own.
            string values = Values(g, decimals);
            fields.Add((values.Contains("\\n", StringComparison.Ordinal) ? "grad\\n" : "grad ") + values);
        }
        return "{ " + string.Join(" | ", fields) + " }";
    }

    /// <summary>The values (rows on separate lines), or the shape for a tensor too big to read in a box.</summary>
    private static string Values(Tensor t, int decimals) =>
        t.Size > MaxShownElements
            ? "shape " + EscapeRecord(Shapes.Format(t.dims))
            : EscapeRecord(MatrixText.Format(t, decimals));

    /// <summary>
    /// Escapes text for a record label inside a quoted DOT string: the record syntax characters <c>{ } | &lt; &gt;</c>,
    /// quotes and backslashes; line breaks become DOT's centred <c>\n</c>.
    /// </summary>
    internal static string EscapeRecord(string text)
    {
        var sb = new StringBuilder(text.Length + 8);
        foreach (char c in text)
        {
            switch (c)
            {
                case '{' or '}' or '|' or '<' or '>' or '"' or '\\': sb.Append('\\').Append(c); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': break;
                default: sb.Append(c); break;
            }
        }
        return sb.ToString();
    }

    /// <summary>Escapes text for a plain quoted DOT string.</summary>
    internal static string EscapeString(string text) =>
        text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>Every tensor root depends on (constants included), inputs before outputs; iterative, no recursion.</summary>
    private static List<Tensor> InputsFirst(Tensor root)
    {
        var order = new List<Tensor>();
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance) { root };
        var stack = new Stack<(Tensor Tensor, int Next)>();
        stack.Push((root, 0));
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.Inputs;
            if (next < inputs.Count)
            {
                stack.Push((t, next + 1));
                if (seen.Add(inputs[next])) stack.Push((inputs[next], 0));
            }
            else order.Add(t);
        }
        return order;
    }
}
