using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Backprop.Cli;

/// <summary>JSON output for humans and scripts alike: non-ASCII (→, σ) kept as is, not \u-escaped.</summary>
internal static class Json
{
    private static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Write(JsonNode node) => node.ToJsonString(Options);

    /// <summary>Writes <paramref name="text"/> followed by exactly one line break.</summary>
    public static void WriteLine(TextWriter writer, string text) => writer.Write(text.EndsWith('\n') ? text : text + "\n");
}
