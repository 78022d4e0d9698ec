using System.Text;

namespace Backprop.Explain;

/// <summary>
/// A math expression could not be parsed or evaluated. The message shows the expression with a caret under the
/// offending position:
/// <code>
/// unexpected ')' at position 8: expected a number, a variable, a function call or '('
///   (x + y)*)
///          ^
/// </code>
/// </summary>
public sealed class ExpressionException : Exception
{
    /// <summary>Creates the exception; <paramref name="position"/> is 1-based, 0 when no single position is at fault.</summary>
    public ExpressionException(string reason, string expression, int position)
        : base(Compose(reason, expression, position))
    {
        Reason = reason;
        Expression = expression;
        Position = position;
    }

    /// <summary>The first line of the message without the expression and caret, e.g. <c>unexpected ')' at position 8</c>.</summary>
    public string Reason { get; }

    /// <summary>The text that was being parsed.</summary>
    public string Expression { get; }

    /// <summary>
    /// 1-based column of the offending character (one past the end for a premature end), as in the message;
    /// 0 when the problem has no single position (e.g. a value given for a variable the expression lacks).
    /// </summary>
    public int Position { get; }

    private static string Compose(string reason, string expression, int position)
    {
        var sb = new StringBuilder(reason).Append('\n').Append("  ").Append(expression);
        if (position > 0) sb.Append('\n').Append(' ', position + 1).Append('^');
        return sb.ToString();
    }
}
