namespace Backprop.Nn;

/// <summary>One argument inside a layer token's parentheses: <c>32</c> (positional) or <c>pad=1</c> (named).</summary>
/// <param name="Name">The name before '=', lower-cased, or null for a positional argument.</param>
/// <param name="Value">The text of the value, trimmed.</param>
/// <param name="Start">Index of the argument's first character in the spec (0-based).</param>
/// <param name="Length">Number of characters the argument spans.</param>
public sealed record LayerArgument(string? Name, string Value, int Start, int Length);

/// <summary>One layer of a spec, e.g. <c>conv(32,3,pad=1)</c>: its name, its arguments and where it stands.</summary>
/// <param name="Name">The layer name, lower-cased (<c>conv</c>).</param>
/// <param name="Text">The token exactly as written (<c>conv(32,3,pad=1)</c>).</param>
/// <param name="Positional">Arguments without a name, in order.</param>
/// <param name="Named">Arguments written <c>name=value</c>, in order.</param>
/// <param name="Start">Index of the token's first character in the spec (0-based); its column is Start + 1.</param>
/// <param name="Length">Number of characters the token spans.</param>
public sealed record LayerToken(string Name, string Text, IReadOnlyList<LayerArgument> Positional,
    IReadOnlyList<LayerArgument> Named, int Start, int Length)
{
    /// <summary>The 1-based column a user sees.</summary>
    public int Column => Start + 1;
}

/// <summary>
/// The model language: layers joined by '-', each a name with optional arguments in parentheses, e.g.
/// <c>conv(32,3,pad=1)-relu-maxpool(2)-flatten-dense(128)-relu-dropout(0.3)-dense(10)</c>.
/// </summary>
/// <remarks>
/// Grammar (spaces allowed around every token):
/// <code>
/// spec  := layer ('-' layer)*
/// layer := name [ '(' [arg (',' arg)*] ')' ]      name := letter (letter | digit | '_')*
/// arg   := value | name '=' value                  value := any text without ',' ')' '('
/// </code>
/// Parsing only checks this form; <see cref="Build(string, IReadOnlyList{int}, Rng?)"/> checks names, arguments and shapes against the layer table.
/// </remarks>
public static partial class ModelLanguage
{
    /// <summary>Splits <paramref name="spec"/> into layer tokens with their arguments and column spans.</summary>
    /// <exception cref="ModelSpecException">The text does not have the form above; the error points at the spot.</exception>
    public static IReadOnlyList<LayerToken> Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Trim().Length == 0)
            throw new ModelSpecException(spec, 0, 1, "the spec is empty; expected layers joined by '-', e.g. dense(64)-relu-dense(10)");
        var tokens = new List<LayerToken>();
        int i = SkipSpaces(spec, 0);
        while (true)
        {
            tokens.Add(ParseLayer(spec, ref i));
            i = SkipSpaces(spec, i);
            if (i == spec.Length) return tokens;
            if (spec[i] != '-')
                throw new ModelSpecException(spec, i, 1, $"expected '-' between layers at column {i + 1} but found '{spec[i]}'");
            i = SkipSpaces(spec, i + 1);
        }
    }

    private static LayerToken ParseLayer(string spec, ref int i)
    {
        int start = i;
        if (i == spec.Length)
            throw new ModelSpecException(spec, i, 1, $"expected a layer name at column {i + 1} but the spec ends; remove the trailing '-'");
        if (!char.IsAsciiLetter(spec[i]))
            throw new ModelSpecException(spec, i, 1, $"expected a layer name at column {i + 1} but found '{spec[i]}'");
        while (i < spec.Length && (char.IsAsciiLetterOrDigit(spec[i]) || spec[i] == '_')) i++;
        string name = spec[start..i].ToLowerInvariant();
        var positional = new List<LayerArgument>();
        var named = new List<LayerArgument>();
        int afterName = i;
        i = SkipSpaces(spec, i);
        if (i < spec.Length && spec[i] == '(')
        {
            int open = i;
            int close = spec.IndexOf(')', open);
            int nested = spec.IndexOf('(', open + 1);
            if (close < 0 || (nested >= 0 && nested < close))
                throw new ModelSpecException(spec, start, (close < 0 ? spec.Length : nested) - start,
                    $"{spec[start..afterName]} (column {start + 1}) has '(' at column {open + 1} without a matching ')'");
            ParseArguments(spec, start, open, close, positional, named);
            i = close + 1;
        }
        else i = afterName;
        return new LayerToken(name, spec[start..i], positional, named, start, i - start);
    }

    private static void ParseArguments(string spec, int tokenStart, int open, int close,
        List<LayerArgument> positional, List<LayerArgument> named)
    {
        string tokenText = spec[tokenStart..(close + 1)];
        if (spec[(open + 1)..close].Trim().Length == 0) return;   // "relu()" is "relu"
        int from = open + 1;
        for (int n = 1; from <= close; n++)
        {
            int end = spec.IndexOf(',', from, close - from);
            if (end < 0) end = close;
            var (s, e) = Trim(spec, from, end);
            if (s == e)
                throw new ModelSpecException(spec, Math.Min(s, close), 1, $"{tokenText} (column {tokenStart + 1}): argument {n} is empty");
            var text = spec[s..e];
            int eq = text.IndexOf('=');
            if (eq < 0)
            {
                // A bare word (causal) is a flag, which may stand among named arguments; Bind reads it as causal=true.
                if (named.Count > 0 && !IsFlagWord(text))
                    throw new ModelSpecException(spec, s, e - s, $"{tokenText} (column {tokenStart + 1}): positional argument '{text}' comes after a named one; put it first");
                positional.Add(new LayerArgument(null, text, s, e - s));
            }
            else
            {
                string key = text[..eq].Trim().ToLowerInvariant(), value = text[(eq + 1)..].Trim();
                if (key.Length == 0 || value.Length == 0)
                    throw new ModelSpecException(spec, s, e - s, $"{tokenText} (column {tokenStart + 1}): argument '{text}' needs the form name=value");
                if (named.Any(a => a.Name == key))
                    throw new ModelSpecException(spec, s, e - s, $"{tokenText} (column {tokenStart + 1}): argument '{key}' is given twice");
                named.Add(new LayerArgument(key, value, s, e - s));
            }
            from = end + 1;
        }
    }

    /// <summary>Whether a positional value is a bare word such as <c>causal</c> (a flag set to true), not a number.</summary>
    internal static bool IsFlagWord(string text) =>
        text.Length > 0 && char.IsAsciiLetter(text[0]) && text.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')
        && text.ToLowerInvariant() is not ("true" or "false" or "nan" or "infinity");

    private static int SkipSpaces(string s, int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
        return i;
    }

    private static (int Start, int End) Trim(string s, int start, int end)
    {
        while (start < end && char.IsWhiteSpace(s[start])) start++;
        while (end > start && char.IsWhiteSpace(s[end - 1])) end--;
        return (start, end);
    }
}
