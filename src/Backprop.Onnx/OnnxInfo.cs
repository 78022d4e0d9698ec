using System.Text.Json;
using System.Text.Json.Serialization;
using Backprop.IO;

namespace Backprop.Onnx;

/// <summary>
/// The <see cref="ModelInfo"/> an exported file carries in its metadata (key <see cref="Key"/>): feature and class
/// names, target, loss and dataset, in the model file's JSON spelling. The standardization is left out, because the
/// graph computes it.
/// </summary>
internal static class OnnxInfo
{
    public const string Key = "backprop.info";

    public static string Write(ModelInfo info) =>
        JsonSerializer.Serialize(info with { InputMean = null, InputStd = null, TargetMean = null, TargetStd = null }, OnnxInfoJson.Default.ModelInfo);

    /// <exception cref="JsonException">The JSON does not describe a ModelInfo.</exception>
    public static ModelInfo Read(string json) => JsonSerializer.Deserialize(json, OnnxInfoJson.Default.ModelInfo) ?? new ModelInfo();
}

// Source-generated, so the assembly needs no reflection over ModelInfo (trimming and native AOT keep it working).
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(ModelInfo))]
internal sealed partial class OnnxInfoJson : JsonSerializerContext;
