using System.Globalization;
using Backprop.IO;
using Backprop.Nn;

namespace Backprop.Cli;

/// <summary><c>backprop summary</c>: each layer's output shape, parameters and cost, for a spec or a saved model.</summary>
internal sealed class SummaryCommand : ICommand
{
    public string Name => "summary";
    public string Summary => "each layer's output shape, parameters and FLOPs, for a model spec or a saved model";
    public string Usage =>
        "usage: backprop summary --model SPEC|FILE.safetensors [--input SHAPE | --dataset NAME]\n\n" +
        "  --model SPEC         layers joined by '-', e.g. \"dense(64)-relu-dense(10)\"; known layers:\n" +
        "                       " + string.Join(", ", ModelLanguage.Layers.Select(k => k.Usage)) + "\n" +
        "  --model FILE         a model saved by 'backprop train'\n" +
        "  --input SHAPE        the shape of one example: 784 (a row of features) or 1x28x28 (channels x height x width);\n" +
        "                       a saved model's default is its first layer's input width\n" +
        DataOptions.Help.Replace("iris (default), ", "iris, ", StringComparison.Ordinal) +
        "                       (the data's example shape, instead of --input)\n" +
        "  --model gpt:...|lstm:... a language-model preset (see 'backprop train --help'), with --vocab N (default 256)\n" +
        "  --model convae|vae:...  an autoencoder preset (see 'backprop train --help'), with --input or --dataset\n";

    public int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var cl = new CommandLine(args, [.. DataOptions.ValueOptions, "model", "input", "vocab"], []);
        if (cl.Positionals.Count > 0) throw new UsageException($"unexpected argument '{cl.Positionals[0]}'.");
        var spec = cl.String("model") ?? throw new UsageException("--model SPEC or --model FILE.safetensors is required.");
        if (TextSummary.TryWrite(cl, spec, stdout)) return 0;
        if (cl.Has("input") && (cl.Has("dataset") || cl.Has("data")))
            throw new UsageException("give either --input SHAPE or a dataset, not both.");
        IReadOnlyList<int>? sample = cl.String("input") is { } input ? ParseShape(input)
            : cl.Has("dataset") || cl.Has("data") ? DataOptions.Load(cl, seed: 1, fallbackDataset: null).SampleShape
            : null;

        ModelSummary summary;
        if (spec.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) || File.Exists(spec))
        {
            var (model, info) = ModelFile.Load(spec);
            int features = sample is not null ? Product(sample)
                : InputWidth(model) ?? (info.FeatureNames.Count > 0 ? info.FeatureNames.Count
                    : throw new UsageException($"cannot tell the input size of {spec} from its first layer, {FirstLayer(model)}; give --input SHAPE."));
            summary = ModelSummary.Of(model, [features]);
        }
        else
        {
            if (ModelLanguage.IsMlpShorthand(spec))
                throw new UsageException($"summary reads the model language; write {spec} as {MlpAsSpec(spec)}, with C the number of outputs.");
            if (sample is null)
                throw new UsageException("a model spec needs --input SHAPE (e.g. 784 or 1x28x28) or --dataset NAME to know the input size.");
            Module model;
            if (Generative.AutoencoderPreset.IsPreset(spec))
            {
                try { model = Generative.AutoencoderPreset.Parse(spec).Build(sample, new Rng(0)); }
                catch (FormatException e) { throw new UsageException($"--model: {e.Message}"); }
            }
            else model = ModelLanguage.Build(spec, sample, new Rng(0));
            summary = ModelSummary.Of(model, [Product(sample)]);
        }
        stdout.Write(summary.ToString());
        return 0;
    }

    /// <summary>Parses <c>784</c>, <c>1x28x28</c> (also <c>1×28×28</c> or <c>1,28,28</c>) into a per-example shape.</summary>
    internal static int[] ParseShape(string text)
    {
        var parts = text.Split(['x', 'X', '×', ','], StringSplitOptions.TrimEntries);
        var sizes = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out sizes[i]) || sizes[i] < 1)
                throw new UsageException($"--input expects a shape like 784 or 1x28x28 (positive sizes joined by 'x') but got '{text}'.");
        return sizes;
    }

    /// <summary>The row width a saved model takes, read from its first layer when that layer fixes it.</summary>
    private static int? InputWidth(Module model) => FirstLayer(model) switch
    {
        Dense d => d.InFeatures,
        Reshape r => r.SampleSize,
        _ => null,
    };

    private static Module FirstLayer(Module model) => model is Sequential { Layers.Count: > 0 } s ? FirstLayer(s.Layers[0]) : model;

    private static int Product(IReadOnlyList<int> shape) => shape.Aggregate(1, (a, b) => checked(a * b));

    private static string MlpAsSpec(string mlp) =>
        string.Concat(Mlp.ParseHidden(mlp).Select(h => $"dense({h})-tanh-")) + "dense(C)";
}
