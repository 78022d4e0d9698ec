namespace Backprop.Cli;

/// <summary>An exception's message as the CLI prints it: in the project's words, without .NET's parameter suffixes.</summary>
internal static class UserMessage
{
    /// <summary>
    /// <paramref name="e"/>'s message without the <c> (Parameter 'name')</c> that <see cref="ArgumentException"/>
    /// appends and the <c>Actual value was …</c> line of <see cref="ArgumentOutOfRangeException"/>. The library keeps
    /// ParamName for .NET callers and writes its messages to stand alone (they name the value themselves).
    /// </summary>
    public static string Of(Exception e)
    {
        var message = e.Message;
        if (e is ArgumentOutOfRangeException { ActualValue: not null })
        {
            int line = message.LastIndexOf("Actual value was ", StringComparison.Ordinal);
            if (line > 0) message = message[..line].TrimEnd('\r', '\n');
        }
        if (e is ArgumentException { ParamName: { Length: > 0 } name })
        {
            var suffix = $" (Parameter '{name}')";
            if (message.EndsWith(suffix, StringComparison.Ordinal)) message = message[..^suffix.Length];
        }
        return message;
    }
}
