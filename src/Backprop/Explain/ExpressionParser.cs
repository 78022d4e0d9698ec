using System.Globalization;

namespace Backprop.Explain;

/// <summary>
/// Recursive-descent parser for <see cref="Expression"/>. Grammar, loosest binding first:
/// <code>
/// sum     := product (('+' | '-') product)*          left-associative
/// product := unary (('*' | '/') unary)*             left-associative
/// unary   := ('-' | '+') unary | power              so -x^2 = -(x^2), as in math
/// power   := atom ('^' unary)?                      right-associative: a^b^c = a^(b^c); 2^-x is allowed
/// atom    := number | name | name '(' sum (',' sum)* ')' | '(' sum ')'
/// </code>
/// '×', '·' and '∗' are read as '*', '÷' as '/', and '−' (U+2212) as '-', so the seeds' notation parses too.
/// </summary>
internal sealed class ExpressionParser
{
    /// <summary>Functions and how many arguments each takes.</summary>
    internal static readonly SortedDictionary<string, int> Functions = new(StringComparer.Ordinal)
    {
        ["abs"] = 1, ["exp"] = 1, ["log"] = 1, ["max"] = 2, ["min"] = 2,
        ["relu"] = 1, ["sigmoid"] = 1, ["sqrt"] = 1, ["tanh"] = 1,
    };

    /// <summary>Deeper nesting is refused rather than risking the stack (the parser and evaluator recurse).</summary>
    internal const int MaxDepth = 200;

    private readonly string text;
    private int pos;     // 0-based index of the next unread character
    private int depth;

    private ExpressionParser(string text) => this.text = text;

    public static ExpressionNode Parse(string text)
    {
        var p = new ExpressionParser(text);
        p.SkipSpace();
        if (p.pos == text.Length) throw new ExpressionException("empty expression: expected a formula such as (x + y) * z", text, 1);
        var root = p.ParseSum();
        p.SkipSpace();
        if (p.pos < text.Length)
        {
            var (what, at) = p.Describe();
            string hint = p.StartsOperand()
                ? ": expected an operator (+ - * / ^) or the end; write '*' for a product, e.g. 2*x"
                : ": expected an operator (+ - * / ^) or the end";
            throw new ExpressionException($"unexpected {what} at position {at}{hint}", text, at);
        }
        if (TreeDepth(root) > MaxDepth)
            throw new ExpressionException($"expression is nested more than {MaxDepth} levels deep", text, 0);
        return root;
    }

    private ExpressionNode ParseSum()
    {
        var left = ParseProduct();
        while (TryOperator('+', '-') is { } op)
            left = new BinaryNode(op.Symbol, left, ParseProduct(), op.Position);
        return left;
    }

    private ExpressionNode ParseProduct()
    {
        var left = ParseUnary();
        while (TryOperator('*', '/') is { } op)
            left = new BinaryNode(op.Symbol, left, ParseUnary(), op.Position);
        return left;
    }

    private ExpressionNode ParseUnary()
    {
        Enter();
        try
        {
            if (TryOperator('-') is { } minus) return new NegateNode(ParseUnary(), minus.Position);
            if (TryOperator('+') is not null) return ParseUnary();
            var atom = ParseAtom();
            if (TryOperator('^') is { } pow) return new BinaryNode('^', atom, ParseUnary(), pow.Position);
            return atom;
        }
        finally { depth--; }
    }

    private ExpressionNode ParseAtom()
    {
        SkipSpace();
        int start = pos + 1;
        if (pos < text.Length && (char.IsDigit(text[pos]) || (text[pos] == '.' && pos + 1 < text.Length && char.IsDigit(text[pos + 1]))))
            return ParseNumber();
        if (pos < text.Length && IsNameStart(text[pos]))
        {
            string name = ReadName();
            SkipSpace();
            bool call = pos < text.Length && text[pos] == '(';
            bool known = Functions.TryGetValue(name.ToLowerInvariant(), out int arity);
            if (!call)
            {
                if (known)
                    throw new ExpressionException($"'{name}' at position {start} is a function: write {name.ToLowerInvariant()}(...)", text, start);
                return new VariableNode(name, start);
            }
            if (!known)
                throw new ExpressionException(
                    $"unknown function '{name}' at position {start}; known functions: {string.Join(", ", Functions.Keys)}", text, start);
            return ParseCall(name.ToLowerInvariant(), arity, start);
        }
        if (pos < text.Length && text[pos] == '(')
        {
            pos++;
            var inner = ParseSum();
            Expect(')', "to close the '(' at position " + start);
            return inner;
        }
        var (what, at) = Describe();
        throw new ExpressionException($"unexpected {what} at position {at}: expected a number, a variable, a function call or '('", text, at);
    }

    private CallNode ParseCall(string name, int arity, int start)
    {
        pos++;   // '('
        var args = new List<ExpressionNode> { ParseSum() };
        while (TryOperator(',') is not null) args.Add(ParseSum());
        Expect(')', $"to close the call to {name} at position {start}");
        if (args.Count != arity)
            throw new ExpressionException(
                $"{name} at position {start} takes {arity} argument{(arity == 1 ? "" : "s")} but got {args.Count}", text, start);
        return new CallNode(name, args, start);
    }

    private NumberNode ParseNumber()
    {
        int start = pos;
        while (pos < text.Length && char.IsDigit(text[pos])) pos++;
        if (pos < text.Length && text[pos] == '.')
        {
            pos++;
            while (pos < text.Length && char.IsDigit(text[pos])) pos++;
        }
        // An exponent only when digits follow: "2e-3" is a number, while "2e" stops before the 'e'.
        if (pos < text.Length && text[pos] is 'e' or 'E')
        {
            int mark = pos + 1;
            if (mark < text.Length && text[mark] is '+' or '-') mark++;
            if (mark < text.Length && char.IsDigit(text[mark]))
            {
                pos = mark;
                while (pos < text.Length && char.IsDigit(text[pos])) pos++;
            }
        }
        string literal = text[start..pos];
        double value = double.Parse(literal, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (!double.IsFinite(value) || Math.Abs(value) > float.MaxValue)
            throw new ExpressionException($"number {literal} at position {start + 1} is too large for float32", text, start + 1);
        return new NumberNode(value, literal, start + 1);
    }

    private string ReadName()
    {
        int start = pos;
        while (pos < text.Length && (IsNameStart(text[pos]) || char.IsDigit(text[pos]))) pos++;
        return text[start..pos];
    }

    internal static bool IsNameStart(char c) => char.IsLetter(c) || c == '_';

    /// <summary>Consumes the next operator if it is one of <paramref name="symbols"/> (after normalising Unicode forms).</summary>
    private (char Symbol, int Position)? TryOperator(params char[] symbols)
    {
        SkipSpace();
        if (pos >= text.Length) return null;
        char c = Normalize(text[pos]);
        if (Array.IndexOf(symbols, c) < 0) return null;
        pos++;
        return (c, pos);
    }

    private void Expect(char symbol, string purpose)
    {
        if (TryOperator(symbol) is not null) return;
        var (what, at) = Describe();
        throw new ExpressionException($"expected '{symbol}' {purpose} but found {what} at position {at}", text, at);
    }

    private static char Normalize(char c) => c switch
    {
        '×' or '·' or '∗' => '*',
        '÷' => '/',
        '−' => '-',
        _ => c,
    };

    private void SkipSpace()
    {
        while (pos < text.Length && char.IsWhiteSpace(text[pos])) pos++;
    }

    /// <summary>Whether the next token could start an operand (a number, a name or '('): a missing operator.</summary>
    private bool StartsOperand() =>
        pos < text.Length && (char.IsDigit(text[pos]) || IsNameStart(text[pos]) || text[pos] == '(');

    /// <summary>The next token in words, and its 1-based position, for error messages.</summary>
    private (string What, int At) Describe()
    {
        SkipSpace();
        if (pos >= text.Length) return ("end of expression", text.Length + 1);
        char c = text[pos];
        if (IsNameStart(c))
        {
            int save = pos;
            string name = ReadName();
            pos = save;
            return ($"name '{name}'", pos + 1);
        }
        if (char.IsDigit(c))
        {
            int end = pos;
            while (end < text.Length && (char.IsDigit(text[end]) || text[end] == '.')) end++;
            return ($"number {text[pos..end]}", pos + 1);
        }
        return ($"'{c}'", pos + 1);
    }

    private void Enter()
    {
        if (++depth > MaxDepth)
            throw new ExpressionException($"expression is nested more than {MaxDepth} levels deep", text, pos + 1);
    }

    /// <summary>Height of the tree, without recursion (a long chain a+b+c+... is deep on the left).</summary>
    private static int TreeDepth(ExpressionNode root)
    {
        int max = 0;
        var stack = new Stack<(ExpressionNode Node, int Depth)>();
        stack.Push((root, 1));
        while (stack.Count > 0)
        {
            var (node, d) = stack.Pop();
            max = Math.Max(max, d);
            foreach (var child in Children(node)) stack.Push((child, d + 1));
        }
        return max;
    }

    internal static IEnumerable<ExpressionNode> Children(ExpressionNode node) => node switch
    {
        NegateNode n => [n.Operand],
        BinaryNode b => [b.Left, b.Right],
        CallNode c => c.Arguments,
        _ => [],
    };
}
