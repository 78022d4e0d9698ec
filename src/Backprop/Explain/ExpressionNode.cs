using System.Globalization;

namespace Backprop.Explain;

/// <summary>
/// A node of a parsed math expression (the AST <see cref="Expression.Parse"/> builds). <see cref="ToString"/> writes
/// it back as text with only the parentheses precedence needs: <c>(x + y) * z</c>, <c>-x^2</c>.
/// </summary>
/// <param name="Position">1-based column where the node's text starts in the source expression.</param>
public abstract record ExpressionNode(int Position)
{
    /// <summary>Binding strength for printing: 1 for + −, 2 for * /, 3 for unary −, 4 for ^, 5 for atoms.</summary>
    internal abstract int Precedence { get; }

    /// <summary>The node as expression text.</summary>
    public abstract override string ToString();

    /// <summary>The child's text, parenthesised when it binds less tightly than <paramref name="needed"/>.</summary>
    internal static string Wrap(ExpressionNode child, int needed) =>
        child.Precedence < needed ? $"({child})" : child.ToString();
}

/// <summary>A numeric literal, e.g. <c>2</c>, <c>0.5</c>, <c>1e-3</c>.</summary>
/// <param name="Value">The number, parsed with the invariant culture.</param>
/// <param name="Text">The literal as written.</param>
/// <param name="Position">1-based column.</param>
public sealed record NumberNode(double Value, string Text, int Position) : ExpressionNode(Position)
{
    internal override int Precedence => 5;

    /// <inheritdoc/>
    public override string ToString() => Value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>A variable such as <c>x</c>; its value comes from the dictionary passed to <see cref="Expression.Evaluate"/>.</summary>
/// <param name="Name">The identifier.</param>
/// <param name="Position">1-based column.</param>
public sealed record VariableNode(string Name, int Position) : ExpressionNode(Position)
{
    internal override int Precedence => 5;

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>Negation, <c>-operand</c>.</summary>
/// <param name="Operand">The negated expression.</param>
/// <param name="Position">1-based column of the minus sign.</param>
public sealed record NegateNode(ExpressionNode Operand, int Position) : ExpressionNode(Position)
{
    internal override int Precedence => 3;

    /// <inheritdoc/>
    public override string ToString() => "-" + (Operand is NegateNode ? $"({Operand})" : Wrap(Operand, 3));
}

/// <summary>A binary operation: <c>+ - * / ^</c>.</summary>
/// <param name="Operator">One of <c>'+', '-', '*', '/', '^'</c>.</param>
/// <param name="Left">Left operand.</param>
/// <param name="Right">Right operand.</param>
/// <param name="Position">1-based column of the operator.</param>
public sealed record BinaryNode(char Operator, ExpressionNode Left, ExpressionNode Right, int Position) : ExpressionNode(Position)
{
    internal override int Precedence => Operator switch { '+' or '-' => 1, '*' or '/' => 2, _ => 4 };

    /// <inheritdoc/>
    public override string ToString()
    {
        int p = Precedence;
        // + − * / associate to the left, so an equal-precedence right operand needs parentheses: a - (b - c).
        // ^ associates to the right, so it is the left operand that does: (a^b)^c.
        if (Operator == '^') return $"{Wrap(Left, p + 1)}^{Wrap(Right, p)}";
        return $"{Wrap(Left, p)} {Operator} {Wrap(Right, p + 1)}";
    }
}

/// <summary>A function call such as <c>max(x, y)</c> or <c>sigmoid(z)</c>.</summary>
/// <param name="Function">Lower-case function name.</param>
/// <param name="Arguments">The arguments, in order.</param>
/// <param name="Position">1-based column of the function name.</param>
public sealed record CallNode(string Function, IReadOnlyList<ExpressionNode> Arguments, int Position) : ExpressionNode(Position)
{
    internal override int Precedence => 5;

    /// <inheritdoc/>
    public override string ToString() => $"{Function}({string.Join(", ", Arguments)})";
}
