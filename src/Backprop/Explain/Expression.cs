using System.Globalization;

namespace Backprop.Explain;

/// <summary>
/// A parsed math expression such as <c>(x + y) * z</c> that can be evaluated through the autograd engine, giving its
/// value and ∂f/∂variable for every variable: the seeds' circuit of gates, from a string.
/// </summary>
/// <remarks>
/// Operators: <c>+ - * / ^</c> (also <c>× · ÷ −</c>), unary minus, parentheses. <c>^</c> binds tighter than a
/// unary minus on its left (<c>-x^2 = -(x^2)</c>) and associates to the right. Functions: abs, exp, log, max(a, b),
/// min(a, b), relu, sigmoid, sqrt, tanh. Numbers use the invariant culture (<c>0.5</c>, <c>1e-3</c>).
/// </remarks>
public sealed class Expression
{
    private Expression(string text, ExpressionNode root, IReadOnlyList<string> variables)
    {
        Text = text;
        Root = root;
        Variables = variables;
    }

    /// <summary>The source text.</summary>
    public string Text { get; }

    /// <summary>The syntax tree.</summary>
    public ExpressionNode Root { get; }

    /// <summary>The variable names, in order of first appearance.</summary>
    public IReadOnlyList<string> Variables { get; }

    /// <summary>Parses <paramref name="text"/>.</summary>
    /// <exception cref="ExpressionException">A syntax error; the message points at it with a caret.</exception>
    public static Expression Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var root = ExpressionParser.Parse(text);
        var names = new List<string>();
        CollectVariables(root, names);
        return new Expression(text, root, names);
    }

    /// <summary>Parses <paramref name="text"/> and evaluates it: <c>Parse(text).Evaluate(values)</c>.</summary>
    public static GradResult Grad(string text, IReadOnlyDictionary<string, float> values) => Parse(text).Evaluate(values);

    /// <summary>
    /// Builds the expression's graph from rank-0 tensors, one leaf per variable (named by it, requiring a gradient)
    /// and one node per operation (named by its sub-expression, e.g. <c>x + y</c>), numbers as unnamed constants, then backpropagates from the
    /// result. A variable used twice is one leaf whose gradient accumulates both uses.
    /// </summary>
    /// <param name="values">A value for every variable of <see cref="Variables"/>, and no others.</param>
    /// <exception cref="ExpressionException">A variable has no value, or a value names no variable of the expression.</exception>
    public GradResult Evaluate(IReadOnlyDictionary<string, float> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var name in Variables)
        {
            if (!values.ContainsKey(name))
            {
                string given = values.Count == 0 ? "no values were given" : "values were given for " + string.Join(", ", values.Keys);
                throw new ExpressionException(
                    $"no value for variable '{name}' at position {FirstPosition(name)}; {given}; the expression's variables are {string.Join(", ", Variables)}",
                    Text, FirstPosition(name));
            }
        }
        foreach (var name in values.Keys)
        {
            if (!Variables.Contains(name))
                throw new ExpressionException(
                    $"a value was given for '{name}', but the expression has no such variable; its variables are " +
                    (Variables.Count == 0 ? "none" : string.Join(", ", Variables)),
                    Text, 0);
        }
        if (!GradMode.IsEnabled)
            throw new InvalidOperationException("Expression.Evaluate needs gradient recording, but it was called inside GradMode.NoGrad().");

        var leaves = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in Variables)
        {
            var leaf = Tensor.Scalar(values[name]).RequireGrad();
            leaf.Name = name;
            leaves[name] = leaf;
        }
        var result = Build(Root, leaves);
        // An expression without variables is a constant: nothing to differentiate. Every node keeps its gradient,
        // which the DOT circuit shows.
        if (result.RequiresGrad) result.BackwardRetainingGrads();

        var gradients = new OrderedDictionary<string, float>(StringComparer.Ordinal);
        var ordered = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in Variables)
        {
            gradients[name] = leaves[name].Grad?.Item() ?? 0f;
            ordered[name] = leaves[name];
        }
        return new GradResult(this, result, gradients, ordered);
    }

    /// <summary>
    /// Reads command-line bindings such as <c>x=-2 y=5 z=-4</c> into a dictionary for <see cref="Evaluate"/>,
    /// in the order given.
    /// </summary>
    /// <exception cref="ExpressionException">A binding is not <c>name=number</c>, or a name repeats.</exception>
    public static IReadOnlyDictionary<string, float> ParseBindings(IEnumerable<string> bindings)
    {
        ArgumentNullException.ThrowIfNull(bindings);
        var values = new OrderedDictionary<string, float>(StringComparer.Ordinal);
        foreach (var binding in bindings)
        {
            ArgumentNullException.ThrowIfNull(binding);
            int eq = binding.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
                throw new ExpressionException($"expected name=value (e.g. x=-2) but got '{binding}'", binding, 0);
            string name = binding[..eq].Trim();
            string number = binding[(eq + 1)..].Trim().Replace('−', '-');
            if (name.Length == 0 || !ExpressionParser.IsNameStart(name[0]) || !name.All(c => ExpressionParser.IsNameStart(c) || char.IsDigit(c)))
                throw new ExpressionException($"'{name}' is not a variable name (letters, digits and _, not starting with a digit)", binding, 1);
            if (!float.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out float value))
                throw new ExpressionException($"value of '{name}' must be a number such as -2, 0.5 or 1e-3 but got '{number}'", binding, eq + 2);
            if (!values.TryAdd(name, value))
                throw new ExpressionException($"'{name}' is given twice", binding, 1);
        }
        return values;
    }

    /// <inheritdoc/>
    public override string ToString() => Root.ToString();

    private int FirstPosition(string name) => FindVariable(Root, name)?.Position ?? 0;

    private static VariableNode? FindVariable(ExpressionNode node, string name) => node switch
    {
        VariableNode v when v.Name == name => v,
        _ => ExpressionParser.Children(node).Select(c => FindVariable(c, name)).FirstOrDefault(v => v is not null),
    };

    private static void CollectVariables(ExpressionNode node, List<string> names)
    {
        if (node is VariableNode v && !names.Contains(v.Name)) names.Add(v.Name);
        foreach (var child in ExpressionParser.Children(node)) CollectVariables(child, names);
    }

    /// <summary>The node's value as a tensor of the recorded graph. Numbers are constants (no gradient).</summary>
    private static Tensor Build(ExpressionNode node, Dictionary<string, Tensor> leaves)
    {
        if (node is VariableNode v) return leaves[v.Name];
        if (node is NumberNode number) return Tensor.Scalar((float)number.Value);   // a constant: its value is its label
        var t = node switch
        {
            NegateNode n => -Build(n.Operand, leaves),
            BinaryNode b => Binary(b.Operator, Build(b.Left, leaves), Build(b.Right, leaves)),
            CallNode c => Call(c.Function, c.Arguments.Select(a => Build(a, leaves)).ToArray()),
            _ => throw new InvalidOperationException($"unknown expression node {node.GetType().Name}"),
        };
        t.Name = node.ToString();
        return t;
    }

    private static Tensor Binary(char op, Tensor a, Tensor b) => op switch
    {
        '+' => a + b,
        '-' => a - b,
        '*' => a * b,
        '/' => a / b,
        _ => a.Pow(b),   // '^': ∂/∂a = b·a^(b−1); ∂/∂b = a^b·ln a
    };

    private static Tensor Call(string function, Tensor[] args) => function switch
    {
        "abs" => args[0].Abs(),
        "exp" => args[0].Exp(),
        "log" => args[0].Log(),
        "relu" => args[0].Relu(),
        "sigmoid" => args[0].Sigmoid(),
        "sqrt" => args[0].Sqrt(),
        "tanh" => args[0].Tanh(),
        "max" => Tensor.Maximum(args[0], args[1]),
        // min(a, b) = −max(−a, −b): built from the max gate, so the gradient is routed to the smaller input.
        "min" => -Tensor.Maximum(-args[0], -args[1]),
        _ => throw new InvalidOperationException($"unknown function {function}"),
    };
}
