using System.Text.Json.Serialization;

namespace Backprop.Cli;

// The option values a training checkpoint records (name → value, null for a flag). Source-generated, so the native
// AOT build reads and writes them without reflection.
[JsonSerializable(typeof(Dictionary<string, string?>))]
[JsonSerializable(typeof(SortedDictionary<string, string?>))]
internal sealed partial class OptionValuesJson : JsonSerializerContext;
