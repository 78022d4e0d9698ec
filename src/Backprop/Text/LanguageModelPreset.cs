using System.Globalization;
using System.Text.Json.Nodes;

namespace Backprop.Text;

/// <summary>
/// The language-model presets of the model language: <c>gpt:layers=4,heads=4,dim=128,context=64[,dropout=p]</c> and
/// <c>lstm:layers=2,hidden=256[,embed=E][,context=T][,dropout=p]</c>. Options left out take nanoGPT's CPU sizes
/// (gpt: 4 layers, 4 heads, dim 128, context 64) or lstm: 2 layers, hidden 256, embed = hidden, context 64. The
/// vocabulary comes from the tokenizer.
/// </summary>
public sealed record LanguageModelPreset
{
    private static readonly string[] GptOptions = ["layers", "heads", "dim", "context", "dropout"];
    private static readonly string[] LstmOptions = ["layers", "hidden", "embed", "context", "dropout"];

    private LanguageModelPreset(string kind, IReadOnlyDictionary<string, string> options)
    {
        Kind = kind;
        Options = options;
    }

    /// <summary><c>gpt</c> or <c>lstm</c>.</summary>
    public string Kind { get; }

    /// <summary>The options as written.</summary>
    public IReadOnlyDictionary<string, string> Options { get; }

    /// <summary>Whether <paramref name="spec"/> is a preset (starts with <c>gpt</c> or <c>lstm:</c>).</summary>
    public static bool IsPreset(string spec) =>
        spec is "gpt" or "lstm" || spec.StartsWith("gpt:", StringComparison.Ordinal) || spec.StartsWith("lstm:", StringComparison.Ordinal);

    /// <summary>Reads a preset.</summary>
    /// <exception cref="FormatException">It names an unknown kind or option, repeats an option, or a value is not a
    /// positive whole number (dropout: a fraction in [0, 1)).</exception>
    public static LanguageModelPreset Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int colon = spec.IndexOf(':', StringComparison.Ordinal);
        string kind = colon < 0 ? spec : spec[..colon];
        var allowed = kind switch
        {
            "gpt" => GptOptions,
            "lstm" => LstmOptions,
            _ => throw new FormatException($"'{spec}' is not a language-model preset; expected gpt:layers=4,heads=4,dim=128,context=64 or lstm:layers=2,hidden=256."),
        };
        var options = new Dictionary<string, string>();
        if (colon >= 0 && colon < spec.Length - 1)
            foreach (var part in spec[(colon + 1)..].Split(','))
            {
                int eq = part.IndexOf('=', StringComparison.Ordinal);
                string name = (eq < 0 ? part : part[..eq]).Trim(), value = eq < 0 ? "" : part[(eq + 1)..].Trim();
                if (!allowed.Contains(name))
                    throw new FormatException($"{kind} has no option '{name}' (in '{spec}'); its options are {string.Join(", ", allowed)}.");
                if (eq < 0 || value.Length == 0) throw new FormatException($"{kind} option '{name}' needs a value, e.g. {name}={(name == "dropout" ? "0.1" : "4")} (in '{spec}').");
                if (!options.TryAdd(name, value)) throw new FormatException($"{kind} option '{name}' is given twice (in '{spec}').");
                if (name == "dropout" ? !(Fraction(value) is >= 0f and < 1f) : Count(value) < 1)
                    throw new FormatException(name == "dropout"
                        ? $"{kind} option dropout must be a fraction in [0, 1) but is '{value}'."
                        : $"{kind} option {name} must be a whole number ≥ 1 but is '{value}'.");
            }
        return new LanguageModelPreset(kind, options);
    }

    /// <summary>The context length: the option, else <paramref name="fallback"/> (64 when null).</summary>
    public int Context(int? fallback = null) => Int("context", fallback ?? 64);

    /// <summary>Whether the preset names its own context.</summary>
    public bool HasContext => Options.ContainsKey("context");

    /// <summary>Builds the model for <paramref name="vocabSize"/> ids with a context of <paramref name="context"/> tokens.</summary>
    /// <exception cref="ArgumentException">A size does not fit (e.g. gpt's dim is not a multiple of heads).</exception>
    public LanguageModel Build(int vocabSize, int context, Rng? rng = null)
    {
        float dropout = Options.TryGetValue("dropout", out var p) ? Fraction(p) : 0f;
        if (Kind == "gpt") return new Gpt(vocabSize, Int("layers", 4), Int("heads", 4), Int("dim", 128), context, dropout, rng);
        int hidden = Int("hidden", 256);
        return new LstmLanguageModel(vocabSize, Int("layers", 2), hidden, Int("embed", hidden), context, dropout, rng);
    }

    private int Int(string name, int fallback) => Options.TryGetValue(name, out var v) ? Count(v) : fallback;

    private static int Count(string s) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : -1;

    private static float Fraction(string s) => float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out float f) ? f : float.NaN;

    /// <summary>The spec type names of the language models (what <see cref="Nn.ModuleSpec.Create"/> rebuilds from a model file).</summary>
    internal static readonly string[] SpecNames = ["Gpt", "LstmLm"];

    /// <summary>A language model from its <see cref="Nn.Module.ToSpec"/> JSON.</summary>
    internal static Nn.Module FromSpec(string type, JsonObject o)
    {
        int Req(string key) => o[key]?.GetValue<int>() ?? throw new FormatException($"'{type}' spec has no \"{key}\".");
        float dropout = o["dropout"]?.GetValue<float>() ?? 0f;
        return type == "Gpt"
            ? new Gpt(Req("vocab"), Req("layers"), Req("heads"), Req("dim"), Req("context"), dropout)
            : new LstmLanguageModel(Req("vocab"), Req("layers"), Req("hidden"), Req("embed"), Req("context"), dropout);
    }
}
