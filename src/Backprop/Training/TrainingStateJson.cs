using System.Text.Json.Serialization;

namespace Backprop.Training;

// A checkpoint's training state (property names as declared; NaN and ±Infinity allowed: the best loss starts at
// +Infinity). Source-generated, so trimmed and native AOT builds read and write it without reflection.
[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(TrainingState))]
internal sealed partial class TrainingStateJson : JsonSerializerContext;
