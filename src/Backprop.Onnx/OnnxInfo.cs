using System.Text.Json;
using System.Text.Json.Serialization;
using Backprop.IO;

namespace Backprop.Onnx;

/// <summary>
/// The <see cref="ModelInfo"/> an exported file carries in its metadata (key <see cref="Key"/>): feature and class
/// names, target, loss and dataset. The standardization is left out, because the graph computes it.
/// </summary>
internal static class OnnxInfo
{
    public const string Key = "backprop.info";

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Write(ModelInfo info) =>
        JsonSerializer.Serialize(info with { InputMean = null, InputStd = null, TargetMean = null, TargetStd = null }, Options);

    /// <exception cref="JsonException">The JSON does not describe a ModelInfo.</exception>
    public static ModelInfo Read(string json) => JsonSerializer.Deserialize<ModelInfo>(json, Options) ?? new ModelInfo();
}
