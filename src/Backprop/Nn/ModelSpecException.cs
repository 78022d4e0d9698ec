namespace Backprop.Nn;

/// <summary>
/// A model-language spec that cannot be parsed or built. The message names the offending token, its column and
/// what did not fit, then shows the spec with carets under the token:
/// <code>
/// model spec: dense(10) (column 23) needs a flat input [N, F] but gets [N, 32, 28, 28]; put flatten before it
///   conv(32,3,pad=1)-relu-dense(10)
///                         ^^^^^^^^^
/// </code>
/// </summary>
public sealed class ModelSpecException : ArgumentException
{
    /// <summary>Creates the error for <paramref name="spec"/> with the span [start, start + length) underlined.</summary>
    public ModelSpecException(string spec, int start, int length, string reason)
        : base(Compose(spec ?? "", start, length, reason))
    {
        Spec = spec ?? "";
        Start = Math.Clamp(start, 0, Spec.Length);
        Length = Math.Max(1, length);
        Reason = reason;
    }

    /// <summary>The spec text as given.</summary>
    public string Spec { get; }

    /// <summary>Index of the first offending character (0-based; equal to the spec's length when it is missing text at the end).</summary>
    public int Start { get; }

    /// <summary>The column a user sees: <see cref="Start"/> + 1.</summary>
    public int Column => Start + 1;

    /// <summary>How many characters the carets underline (at least 1).</summary>
    public int Length { get; }

    /// <summary>The one-line explanation, without the spec and caret lines.</summary>
    public string Reason { get; }

    /// <summary>The spec on one line and carets under the offending span on the next, each indented by two spaces.</summary>
    public string Display => Caret(Spec, Start, Length);

    private static string Compose(string spec, int start, int length, string reason) =>
        $"model spec: {reason}\n{Caret(spec, start, length)}";

    private static string Caret(string spec, int start, int length)
    {
        // Control characters (tabs, newlines) would shift the carets; show them as spaces.
        var line = new string([.. spec.Select(c => char.IsControl(c) ? ' ' : c)]);
        start = Math.Clamp(start, 0, line.Length);
        return $"  {line}\n  {new string(' ', start)}{new string('^', Math.Max(1, length))}";
    }
}
