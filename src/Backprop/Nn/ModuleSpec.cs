using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// Rebuilds modules from the architecture JSON written by <see cref="Module.ToSpec"/>. Only the built-in layer types
/// and the custom types registered with <see cref="Register{T}"/> can be created: a model file can never make the
/// loader instantiate an arbitrary .NET type.
/// </summary>
public static class ModuleSpec
{
    private static readonly string[] BuiltIn =
        ["Sequential", "Dense", "Dropout", "BatchNorm1d", "BatchNorm2d", "Reshape", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "leaky_relu"];

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (Type Type, Func<JsonObject, Module> Create)> Registered = new();

    /// <summary>
    /// Lets model files hold a custom module type: a spec whose <c>"type"</c> is <paramref name="name"/> is built by
    /// <paramref name="create"/> (which gets the whole spec, so a <see cref="Module.ToSpec"/> override can pass
    /// constructor arguments), and the module's default <see cref="Module.ToSpec"/> writes that name. The weights are
    /// then loaded by name as for any layer. Registering the same type under the same name again is allowed.
    /// </summary>
    /// <exception cref="ArgumentException">The name is a built-in layer's, or is already taken by another type.</exception>
    public static void Register<T>(string name, Func<JsonObject, T> create) where T : Module
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(create);
        if (BuiltIn.Contains(name) || SequenceLayerSpecs.Names.Contains(name) || Activation.Names.Contains(name) || Text.LanguageModelPreset.SpecNames.Contains(name) || name == "Vae")
            throw new ArgumentException($"cannot register {typeof(T).Name} as '{name}': that is the name of a built-in layer.");
        var entry = (typeof(T), (Func<JsonObject, Module>)(spec => create(spec)));
        var now = Registered.GetOrAdd(name, entry);
        if (now.Type != typeof(T))
            throw new ArgumentException($"cannot register {typeof(T).Name} as '{name}': {now.Type.Name} is already registered under that name.");
    }

    /// <summary>The name a module type's spec carries: the name it was registered under, or else its class name.</summary>
    internal static string NameOf(Type type) =>
        Registered.FirstOrDefault(r => r.Value.Type == type).Key ?? type.Name;

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
                _ when SequenceLayerSpecs.Names.Contains(type) => SequenceLayerSpecs.Create(type, o),
                _ when Activation.Names.Contains(type) => Activation.Create(type),
                _ when Text.LanguageModelPreset.SpecNames.Contains(type) => Text.LanguageModelPreset.FromSpec(type, o),
                "Vae" => Generative.Vae.FromSpec(o),
                _ when Registered.TryGetValue(type, out var custom) => custom.Create(o),
                _ => throw new FormatException(
                    $"unknown layer type '{type}': if it is your own module, call ModuleSpec.Register<{type}>(\"{type}\", spec => new {type}(...)) " +
                    "before loading, or build the model yourself and load its weights with LoadStateDict."),
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
