using System.Globalization;
using System.Text.Json;

namespace Backprop.Playground;

/// <summary>
/// One hidden layer: its width and activation; with <paramref name="Residual"/>, its output is added to its input
/// (h = x + f(x·W + b)), which needs the layer before to be as wide; <paramref name="Dropout"/> is the rate, in
/// [0, 0.9], at which training zeroes its outputs (0: none).
/// </summary>
internal sealed record LayerConfig(int Neurons, string Activation, bool Residual = false, float Dropout = 0);

/// <summary>
/// Everything that defines a playground run (the page keeps the same fields in its URL hash): the data, the
/// features, the network and the optimizer.
/// </summary>
internal sealed record PlaygroundConfig
{
    public static readonly string[] Activations = ["tanh", "relu", "sigmoid", "linear"];
    public static readonly string[] Optimizers = ["sgd", "momentum", "adam"];
    public static readonly string[] Regularizations = ["none", "l1", "l2"];
    public static readonly string[] Inits = ["xavier", "he", "uniform"];

    public string Dataset { get; init; } = "circle";
    public int Points { get; init; } = 500;
    /// <summary>Fraction in [0, 0.5].</summary>
    public float Noise { get; init; }
    /// <summary>Fraction of the points used for training, in [0.1, 0.9].</summary>
    public float TrainRatio { get; init; } = 0.5f;
    public int BatchSize { get; init; } = 10;
    public IReadOnlyList<string> Features { get; init; } = ["x1", "x2", "sinx1", "sinx2"];
    public IReadOnlyList<LayerConfig> Layers { get; init; } = [new(8, "tanh"), new(8, "tanh"), new(4, "tanh")];
    public float LearningRate { get; init; } = 0.01f;
    public string Optimizer { get; init; } = "adam";
    public string Regularization { get; init; } = "none";
    public float RegularizationRate { get; init; }
    public string Init { get; init; } = "xavier";
    public int Seed { get; init; } = 1;
    /// <summary>
    /// Which two input columns span the heatmaps (the others held at their mean): indices into the data's columns,
    /// across then up. The page offers the choice for data of more than two columns (a CSV of k &gt; 2 features).
    /// </summary>
    public (int Across, int Up) Plot { get; init; } = (0, 1);

    /// <summary>The dataset names: the generated ones and <c>csv</c>, the session's upload.</summary>
    public static readonly string[] Datasets = [.. ToyData.Names, "csv"];

    /// <summary>Reads a config from JSON; absent fields keep their defaults.</summary>
    /// <exception cref="ApiException">400 naming the field, what it must be and what arrived.</exception>
    public static PlaygroundConfig Parse(JsonElement json, PlaygroundLimits limits)
    {
        if (json.ValueKind != JsonValueKind.Object)
            throw new ApiException(400, $"config must be a JSON object but got {Kind(json)}");
        var c = new PlaygroundConfig();
        foreach (var p in json.EnumerateObject())
        {
            var v = p.Value;
            c = p.Name switch
            {
                "dataset" => c with { Dataset = OneOf(p.Name, v, Datasets) },
                "points" => c with { Points = Int(p.Name, v, 20, limits.MaxPoints) },
                "noise" => c with { Noise = Number(p.Name, v, 0, 0.5f) },
                "trainRatio" => c with { TrainRatio = Number(p.Name, v, 0.1f, 0.9f) },
                "batchSize" => c with { BatchSize = Int(p.Name, v, 1, limits.MaxPoints) },
                "features" => c with { Features = FeatureList(v) },
                "layers" => c with { Layers = LayerList(v, limits) },
                "learningRate" => c with { LearningRate = Number(p.Name, v, 1e-6f, 10f) },
                "optimizer" => c with { Optimizer = OneOf(p.Name, v, Optimizers) },
                "regularization" => c with { Regularization = OneOf(p.Name, v, Regularizations) },
                "regularizationRate" => c with { RegularizationRate = Number(p.Name, v, 0, 10f) },
                "init" => c with { Init = OneOf(p.Name, v, Inits) },
                "seed" => c with { Seed = Int(p.Name, v, 0, int.MaxValue) },
                "plot" => c with { Plot = PlotPair(v) },
                "dropout" => throw new ApiException(400, "dropout is set per hidden layer: give each layer its rate as layers[i].dropout (0 to 0.9)"),
                _ => throw new ApiException(400, $"unknown config field '{p.Name}'; expected dataset, points, noise, trainRatio, batchSize, features, layers, learningRate, optimizer, regularization, regularizationRate, init, seed or plot"),
            };
        }
        return c;
    }

    /// <summary>The config as a JSON object with the field names <see cref="Parse"/> reads.</summary>
    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("dataset", Dataset);
        w.WriteNumber("points", Points);
        w.WriteNumber("noise", Noise);
        w.WriteNumber("trainRatio", TrainRatio);
        w.WriteNumber("batchSize", BatchSize);
        w.WriteStartArray("features");
        foreach (var f in Features) w.WriteStringValue(f);
        w.WriteEndArray();
        w.WriteStartArray("layers");
        foreach (var l in Layers)
        {
            w.WriteStartObject();
            w.WriteNumber("neurons", l.Neurons);
            w.WriteString("activation", l.Activation);
            w.WriteBoolean("residual", l.Residual);
            w.WriteNumber("dropout", l.Dropout);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("learningRate", LearningRate);
        w.WriteString("optimizer", Optimizer);
        w.WriteString("regularization", Regularization);
        w.WriteNumber("regularizationRate", RegularizationRate);
        w.WriteString("init", Init);
        w.WriteNumber("seed", Seed);
        w.WriteStartArray("plot");
        w.WriteNumberValue(Plot.Across);
        w.WriteNumberValue(Plot.Up);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static string Kind(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Clip(v.GetString()!)}\"",
        JsonValueKind.Number => $"the number {Clip(v.GetRawText())}",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
        _ => "null",
    };

    private static string Clip(string s) => s.Length > 40 ? s[..40] + "…" : s;

    private static string OneOf(string field, JsonElement v, string[] allowed)
    {
        if (v.ValueKind == JsonValueKind.String && allowed.Contains(v.GetString()))
            return v.GetString()!;
        throw new ApiException(400, $"{field} must be one of {string.Join(", ", allowed)} but got {Kind(v)}");
    }

    private static int Int(string field, JsonElement v, int min, int max)
    {
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long n) && n >= min && n <= max) return (int)n;
        throw new ApiException(400, $"{field} must be a whole number from {min} to {max.ToString(CultureInfo.InvariantCulture)} but got {Kind(v)}");
    }

    private static float Number(string field, JsonElement v, float min, float max)
    {
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && d >= min && d <= max) return (float)d;
        throw new ApiException(400, $"{field} must be a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)} but got {Kind(v)}");
    }

    private static string[] FeatureList(JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Array)
            throw new ApiException(400, $"features must be an array of {string.Join(", ", Playground.Features.Names)} but got {Kind(v)}");
        var list = new List<string>();
        foreach (var f in v.EnumerateArray())
        {
            string name = OneOf("features[]", f, Playground.Features.Names);
            if (list.Contains(name)) throw new ApiException(400, $"features lists '{name}' twice");
            list.Add(name);
        }
        if (list.Count == 0) throw new ApiException(400, "features must name at least one input but got an empty array");
        return [.. list];
    }

    private static (int, int) PlotPair(JsonElement v)
    {
        const string expected = "plot must be two different column indices [across, up], each from 0 to {0}, but got {1}";
        int max = CsvData.MaxFeatures - 1;
        if (v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 2
            && v[0].ValueKind == JsonValueKind.Number && v[0].TryGetInt32(out int a) && a >= 0 && a <= max
            && v[1].ValueKind == JsonValueKind.Number && v[1].TryGetInt32(out int b) && b >= 0 && b <= max && a != b)
            return (a, b);
        string got = v.ValueKind == JsonValueKind.Array ? Clip(v.GetRawText()) : Kind(v);
        throw new ApiException(400, string.Format(CultureInfo.InvariantCulture, expected, max, got));
    }

    private static LayerConfig[] LayerList(JsonElement v, PlaygroundLimits limits)
    {
        if (v.ValueKind != JsonValueKind.Array)
            throw new ApiException(400, $"layers must be an array of {{\"neurons\": N, \"activation\": NAME, \"residual\": BOOL, \"dropout\": RATE}} but got {Kind(v)}");
        int count = v.GetArrayLength();
        if (count > limits.MaxLayers)
            throw new ApiException(400, $"layers may hold at most {limits.MaxLayers} hidden layers but got {count}");
        var layers = new List<LayerConfig>();
        int i = 0;
        foreach (var l in v.EnumerateArray())
        {
            if (l.ValueKind != JsonValueKind.Object)
                throw new ApiException(400, $"layers[{i}] must be an object {{\"neurons\": N, \"activation\": NAME}} but got {Kind(l)}");
            int neurons = l.TryGetProperty("neurons", out var n) ? Int($"layers[{i}].neurons", n, 1, limits.MaxNeurons)
                : throw new ApiException(400, $"layers[{i}] needs \"neurons\" (1 to {limits.MaxNeurons})");
            string act = l.TryGetProperty("activation", out var a) ? OneOf($"layers[{i}].activation", a, Activations) : "tanh";
            bool residual = false;
            if (l.TryGetProperty("residual", out var r))
            {
                if (r.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    throw new ApiException(400, $"layers[{i}].residual must be true or false but got {Kind(r)}");
                residual = r.ValueKind == JsonValueKind.True;
            }
            if (residual && i == 0)
                throw new ApiException(400, "layers[0].residual must be false: a residual connection adds a layer's input to its output, and the first hidden layer's input is the features");
            if (residual && layers[i - 1].Neurons != neurons)
                throw new ApiException(400, $"layers[{i}].residual needs layers[{i - 1}] to be as wide as layers[{i}] ({neurons} neurons) but it has {layers[i - 1].Neurons}");
            float dropout = l.TryGetProperty("dropout", out var d) ? Number($"layers[{i}].dropout", d, 0, 0.9f) : 0;
            layers.Add(new LayerConfig(neurons, act, residual, dropout));
            i++;
        }
        return [.. layers];
    }
}
