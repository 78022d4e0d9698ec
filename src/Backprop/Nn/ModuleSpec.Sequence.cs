using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// <see cref="ModuleSpec.Create"/>'s entries for the sequence and normalisation layers (embedding, norms, recurrent,
/// attention, 1-D and transposed convolution, upsampling, pooling, residual): each rebuilds the layer from the spec its <see cref="Module.ToSpec"/> writes.
/// </summary>
internal static class SequenceLayerSpecs
{
    /// <summary>The type names handled here (built-in names that custom types may not take).</summary>
    public static readonly string[] Names = ["Embedding", "LayerNorm", "RMSNorm", "RNN", "LSTM", "GRU", "MultiHeadAttention", "GlobalAvgPool", "Residual", "Conv1d", "ConvTranspose2d", "Upsample"];

    /// <summary>The module <paramref name="o"/> describes; <paramref name="type"/> is one of <see cref="Names"/>.</summary>
    public static Module Create(string type, JsonObject o) => type switch
    {
        "Embedding" => new Embedding(Int(o, "num"), Int(o, "dim")),
        "LayerNorm" => new LayerNorm([.. (o["shape"] as JsonArray ?? throw new FormatException("LayerNorm spec has no \"shape\" array.")).Select(d => d?.GetValue<int>() ?? throw new FormatException("LayerNorm spec has a null size."))],
            o["eps"]?.GetValue<float>() ?? 1e-5f, o["affine"]?.GetValue<bool>() ?? true),
        "RMSNorm" => new RmsNorm(Int(o, "dim"), o["eps"]?.GetValue<float>(), o["affine"]?.GetValue<bool>() ?? true),
        "RNN" => new Rnn(Int(o, "input"), Int(o, "hidden"), o["layers"]?.GetValue<int>() ?? 1, o["nonlinearity"]?.GetValue<string>() ?? "tanh",
            Bool(o, "bias", true), Bool(o, "bidirectional", false), Float(o, "dropout")),
        "LSTM" => new Lstm(Int(o, "input"), Int(o, "hidden"), o["layers"]?.GetValue<int>() ?? 1, Bool(o, "bias", true), Bool(o, "bidirectional", false), Float(o, "dropout")),
        "GRU" => new Gru(Int(o, "input"), Int(o, "hidden"), o["layers"]?.GetValue<int>() ?? 1, Bool(o, "bias", true), Bool(o, "bidirectional", false), Float(o, "dropout")),
        "MultiHeadAttention" => new MultiHeadAttention(Int(o, "dim"), Int(o, "heads"), Bool(o, "causal", false), Float(o, "dropout"), Bool(o, "bias", true)),
        "GlobalAvgPool" => new GlobalAvgPool(),
        "Conv1d" => new Conv1d(Int(o, "in"), Int(o, "out"), Int(o, "kernel"), o["stride"]?.GetValue<int>() ?? 1, o["padding"]?.GetValue<int>() ?? 0, Bool(o, "bias", true)),
        "ConvTranspose2d" => new ConvTranspose2d(Int(o, "in"), Int(o, "out"), Int(o, "kernel"), o["stride"]?.GetValue<int>() ?? 1, o["padding"]?.GetValue<int>() ?? 0,
            o["output_padding"]?.GetValue<int>() ?? 0, Bool(o, "bias", true)),
        "Upsample" => new Upsample(Int(o, "scale"), Upsample.ParseMode(o["mode"]?.GetValue<string>() ?? "nearest")
            ?? throw new FormatException($"Upsample spec has mode '{o["mode"]}'; expected nearest or bilinear.")),
        "Residual" => new Residual(ModuleSpec.Create(o["body"] ?? throw new FormatException("Residual spec has no \"body\"."))),
        _ => throw new FormatException($"unknown layer type '{type}'."),
    };

    private static int Int(JsonObject o, string key) =>
        o[key]?.GetValue<int>() ?? throw new FormatException($"'{o["type"]}' spec has no \"{key}\".");

    private static bool Bool(JsonObject o, string key, bool fallback) => o[key]?.GetValue<bool>() ?? fallback;

    private static float Float(JsonObject o, string key) => o[key]?.GetValue<float>() ?? 0f;
}
