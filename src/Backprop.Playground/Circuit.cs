using System.Text.Json;
using Backprop.Explain;

namespace Backprop.Playground;

/// <summary>
/// Circuit mode: an expression as <c>backprop grad</c> takes it, evaluated by <see cref="Expression"/> on the autograd
/// engine, returned as its gates with each node's value and gradient, plus the numerical derivative
/// <c>(f(x+Δx) − f(x))/Δx</c> for Δx = 1, 0.1, ..., 1e-6 beside each analytic gradient.
/// </summary>
internal static class Circuit
{
    /// <summary>The Δx the page compares; float32 rounding takes over below about 1e-3, which the page shows too.</summary>
    public static readonly float[] Steps = [1f, 0.1f, 0.01f, 1e-3f, 1e-4f, 1e-5f, 1e-6f];

    public const int MaxExpressionLength = 500;

    /// <summary>Reads <c>{"expression": "(x+y)*z", "values": {"x": -2, "y": 5, "z": -4}}</c> and writes the circuit.</summary>
    /// <exception cref="ApiException">400 for a missing field, a syntax error (with a caret line) or a missing value.</exception>
    public static void Write(Utf8JsonWriter w, JsonElement request)
    {
        if (request.ValueKind != JsonValueKind.Object || !request.TryGetProperty("expression", out var e) || e.ValueKind != JsonValueKind.String)
            throw new ApiException(400, "expected {\"expression\": \"(x+y)*z\", \"values\": {\"x\": -2, ...}}: the expression must be a string");
        string text = e.GetString()!;
        if (text.Length > MaxExpressionLength)
            throw new ApiException(413, $"the expression may be at most {MaxExpressionLength} characters but has {text.Length}");
        var values = new Dictionary<string, float>(StringComparer.Ordinal);
        if (request.TryGetProperty("values", out var v))
        {
            if (v.ValueKind != JsonValueKind.Object)
                throw new ApiException(400, "values must be an object of numbers, e.g. {\"x\": -2}");
            foreach (var p in v.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Number)
                    throw new ApiException(400, $"values.{p.Name} must be a number but got {p.Value.GetRawText()}");
                values[p.Name] = p.Value.GetSingle();
            }
        }

        Expression expression;
        GradResult result;
        try
        {
            expression = Expression.Parse(text);
            // Variables the page has no value for yet start at 1, so a freshly typed expression draws at once.
            foreach (var name in expression.Variables) values.TryAdd(name, 1f);
            foreach (var name in values.Keys.Where(k => !expression.Variables.Contains(k)).ToList()) values.Remove(name);
            result = expression.Evaluate(values);
        }
        catch (ExpressionException x)
        {
            throw new ApiException(400, x.Message);
        }

        w.WriteStartObject();
        w.WriteString("expression", expression.ToString());
        Number(w, "value", result.Value);
        w.WriteStartObject("values");
        foreach (var (name, value) in values) Number(w, name, value);
        w.WriteEndObject();
        w.WriteStartObject("gradients");
        foreach (var (name, grad) in result.Gradients) Number(w, name, grad);
        w.WriteEndObject();
        WriteNodes(w, result.Root);
        WriteNumerical(w, expression, values, result);
        w.WriteString("dot", GraphExport.ToDot(result.Root));
        w.WriteEndObject();
    }

    /// <summary>
    /// The gates inputs-first: <c>{"id", "name", "kind": variable|constant|gate, "op": "+", "value", "grad",
    /// "inputs": [ids]}</c>; the last node is the result.
    /// </summary>
    private static void WriteNodes(Utf8JsonWriter w, Tensor root)
    {
        var order = new List<Tensor>();
        var id = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor T, int Next)>();
        stack.Push((root, 0));
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance) { root };
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            if (next < t.Inputs.Count)
            {
                stack.Push((t, next + 1));
                if (seen.Add(t.Inputs[next])) stack.Push((t.Inputs[next], 0));
            }
            else
            {
                id[t] = order.Count;
                order.Add(t);
            }
        }
        w.WriteStartArray("nodes");
        foreach (var t in order)
        {
            w.WriteStartObject();
            w.WriteNumber("id", id[t]);
            w.WriteString("name", t.Name ?? t.Item().ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("kind", !t.IsLeaf ? "gate" : t.RequiresGrad ? "variable" : "constant");
            if (t.Op is { } op) w.WriteString("op", GraphExport.OpSymbol(op));
            Number(w, "value", t.Item());
            if (t.Grad is { } g) Number(w, "grad", g.Item()); else w.WriteNull("grad");
            w.WriteStartArray("inputs");
            foreach (var input in t.Inputs) w.WriteNumberValue(id[input]);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteNumerical(Utf8JsonWriter w, Expression expression, Dictionary<string, float> values, GradResult result)
    {
        w.WriteStartObject("numerical");
        foreach (var name in expression.Variables)
        {
            w.WriteStartArray(name);
            foreach (float dx in Steps)
            {
                var shifted = new Dictionary<string, float>(values) { [name] = values[name] + dx };
                // The step actually taken is the float32 difference, not dx: x + dx rounds.
                float taken = shifted[name] - values[name];
                float slope = taken == 0 ? float.NaN : (expression.Evaluate(shifted).Value - result.Value) / taken;
                w.WriteStartObject();
                w.WriteNumber("dx", dx);
                Number(w, "slope", slope);
                Number(w, "error", slope - result.Gradients[name]);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter w, string name, float value)
    {
        if (float.IsFinite(value)) w.WriteNumber(name, value); else w.WriteNull(name);
    }
}
