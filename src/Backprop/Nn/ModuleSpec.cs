using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// Rebuilds modules from the architecture JSON written by <see cref="Module.ToSpec"/>. Only the types listed here
/// can be created: a model file can never make the loader instantiate an arbitrary .NET type.
/// </summary>
public static class ModuleSpec
{
    /// <summary>Creates the module a spec describes, with freshly initialised parameters.</summary>
    /// <exception cref="FormatException">The spec is malformed or names an unknown layer type.</exception>
    public static Module Create(JsonNode? spec)
    {
        if (spec is not JsonObject o) throw new FormatException("a layer spec must be a JSON object.");
        string type = o["type"]?.GetValue<string>() ?? throw new FormatException("a layer spec has no \"type\".");
        try
        {
            return type switch
            {
                "Sequential" => new Sequential([.. (o["layers"] as JsonArray ?? throw new FormatException("Sequential spec has no \"layers\" array.")).Select(Create)]),
                "Dense" => new Dense(Int(o, "in"), Int(o, "out"), o["bias"]?.GetValue<bool>() ?? true),
                "Dropout" => new Dropout(o["p"]?.GetValue<float>() ?? 0.5f),
                "BatchNorm1d" => new BatchNorm1d(Int(o, "features"), Float(o, "eps", 1e-5f), Float(o, "momentum", 0.1f), o["affine"]?.GetValue<bool>() ?? true),
                "BatchNorm2d" => new BatchNorm2d(Int(o, "channels"), Float(o, "eps", 1e-5f), Float(o, "momentum", 0.1f), o["affine"]?.GetValue<bool>() ?? true),
                "Reshape" => new Reshape([.. (o["shape"] as JsonArray ?? throw new FormatException("Reshape spec has no \"shape\" array.")).Select(d => d?.GetValue<int>() ?? throw new FormatException("Reshape spec has a null size."))]),
                "Conv2d" => new Conv2d(Int(o, "in"), Int(o, "out"), Int(o, "kernel"), o["stride"]?.GetValue<int>() ?? 1,
                    o["padding"]?.GetValue<int>() ?? 0, o["bias"]?.GetValue<bool>() ?? true),
                "MaxPool2d" => new MaxPool2d(Int(o, "kernel"), o["stride"]?.GetValue<int>()),
                "AvgPool2d" => new AvgPool2d(Int(o, "kernel"), o["stride"]?.GetValue<int>()),
                "Flatten" => new Flatten(),
                "leaky_relu" => new LeakyRelu(o["slope"]?.GetValue<float>() ?? 0.01f),
                _ when Activation.Names.Contains(type) => Activation.Create(type),
                _ => throw new FormatException($"unknown layer type '{type}'."),
            };
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new FormatException($"bad '{type}' layer spec {o.ToJsonString()}: {e.Message}", e);
        }
    }

    private static int Int(JsonObject o, string key) =>
        o[key]?.GetValue<int>() ?? throw new FormatException($"'{o["type"]}' spec has no \"{key}\".");

    private static float Float(JsonObject o, string key, float fallback) => o[key]?.GetValue<float>() ?? fallback;
}
