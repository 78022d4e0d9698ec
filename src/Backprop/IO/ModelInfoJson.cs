using System.Text.Json.Serialization;

namespace Backprop.IO;

// The model file's "backprop.info" metadata: ModelInfo in snake_case, nulls left out, NaN and ±Infinity allowed.
// Source-generated, so reading and writing it needs no reflection (trimmed and native AOT builds keep working).
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(ModelInfo))]
internal sealed partial class ModelInfoJson : JsonSerializerContext;
