using System.Globalization;
using System.Text;

namespace Backprop.Explain;

/// <summary>The value of an <see cref="Expression"/> and its gradient with respect to every variable.</summary>
public sealed class GradResult
{
    internal GradResult(Expression expression, Tensor root, IReadOnlyDictionary<string, float> gradients,
        IReadOnlyDictionary<string, Tensor> variables)
    {
        Expression = expression;
        Root = root;
        Gradients = gradients;
        Variables = variables;
    }

    /// <summary>The expression evaluated.</summary>
    public Expression Expression { get; }

    /// <summary>f at the given values.</summary>
    public float Value => Root.Item();

    /// <summary>∂f/∂variable for every variable, in order of first appearance in the expression.</summary>
    public IReadOnlyDictionary<string, float> Gradients { get; }

    /// <summary>
    /// The result tensor: the root of the recorded graph (every node named by its sub-expression), ready for
    /// <see cref="GraphExport.ToDot"/>.
    /// </summary>
    public Tensor Root { get; }

    /// <summary>The leaf tensor of each variable (value and <see cref="Tensor.Grad"/>), in order of first appearance.</summary>
    public IReadOnlyDictionary<string, Tensor> Variables { get; }

    /// <summary>
    /// <c>{"value": -12, "gradients": {"x": -4, "y": -4, "z": 3}}</c>; numbers in shortest round-trip form,
    /// NaN and ±∞ as <c>null</c>.
    /// </summary>
    public string ToJson(bool indented = false) => TensorJson.Render(indented, w =>
    {
        w.WriteStartObject();
        w.WritePropertyName("value");
        TensorJson.WriteNumber(w, Value);
        w.WriteStartObject("gradients");
        foreach (var (name, grad) in Gradients)
        {
            w.WritePropertyName(name);
            TensorJson.WriteNumber(w, grad);
        }
        w.WriteEndObject();
        w.WriteEndObject();
    });

    /// <summary>
    /// For people: <c>f = (x + y) * z = -12</c> then one <c>∂f/∂x = -4</c> line per variable. Numbers in shortest
    /// round-trip form, or with <paramref name="decimals"/> fixed decimals.
    /// </summary>
    public string ToText(int? decimals = null)
    {
        string F(float v) => decimals is int d
            ? v.ToString("F" + d, CultureInfo.InvariantCulture)
            : v.ToString(CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        sb.Append("f = ").Append(Expression).Append(" = ").Append(F(Value)).Append('\n');
        foreach (var (name, grad) in Gradients) sb.Append("∂f/∂").Append(name).Append(" = ").Append(F(grad)).Append('\n');
        return sb.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => ToText();
}
