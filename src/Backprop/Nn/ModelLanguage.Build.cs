using System.Globalization;

namespace Backprop.Nn;

public static partial class ModelLanguage
{
    /// <summary>
    /// Builds the <see cref="Sequential"/> that <paramref name="spec"/> describes for examples of shape
    /// <paramref name="sampleShape"/> (e.g. [4] for Iris, [1, 28, 28] for Fashion-MNIST), inferring each layer's input
    /// size from the shape before it: <c>dense(128)</c> after [N, 3136] becomes <c>Dense(3136→128)</c>.
    /// </summary>
    /// <remarks>
    /// The model takes rows [N, F] with F the product of <paramref name="sampleShape"/>, as datasets deliver them. When
    /// the first layer that cares about shape needs an image (conv, pooling), a <see cref="Reshape"/> to
    /// <paramref name="sampleShape"/> is put in front. Each layer's output shape is found by a dry run: its
    /// <see cref="Module.Forward(Tensor)"/> on zeros [1, ..shape] in evaluation mode without a graph.
    /// </remarks>
    /// <param name="spec">Layers joined by '-', e.g. <c>dense(64)-relu-dense(10)</c>.</param>
    /// <param name="sampleShape">The shape of one example, without the batch axis.</param>
    /// <param name="rng">Generator for the initial weights (default: <see cref="Init.DefaultRng"/>).</param>
    /// <exception cref="ModelSpecException">A malformed token, an unknown layer or argument, or a layer that does not
    /// fit the shape before it; the message points at the token.</exception>
    public static Sequential Build(string spec, IReadOnlyList<int> sampleShape, Rng? rng = null) =>
        Build(spec, sampleShape, rng, Layers);

    /// <summary><see cref="Build(string, IReadOnlyList{int}, Rng?)"/> with another layer table (tests add fake layers).</summary>
    internal static Sequential Build(string spec, IReadOnlyList<int> sampleShape, Rng? rng, IReadOnlyList<LayerKind> table)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Count == 0 || sampleShape.Any(d => d <= 0))
            throw new ArgumentException($"model spec: the sample shape must be one or more positive sizes but got {Shapes.Format([.. sampleShape])}.", nameof(sampleShape));
        var layers = Parse(spec).Select(t => (Token: t, Kind: Find(spec, t, table), Args: (LayerArgs?)null)).ToList();
        for (int i = 0; i < layers.Count; i++) layers[i] = layers[i] with { Args = Bind(spec, layers[i].Token, layers[i].Kind) };

        var modules = new List<Module>();
        IReadOnlyList<int> shape = [Shapes.Size([.. sampleShape])];
        // Rows become images when the first layer that cares about shape wants one (and no explicit reshape came first).
        var first = layers.FirstOrDefault(l => l.Kind.Input != LayerInput.Any || l.Kind.Name == "reshape");
        if (first.Kind?.Input == LayerInput.Image && sampleShape.Count == 3)
        {
            modules.Add(new Reshape([.. sampleShape]));
            shape = [.. sampleShape];
        }
        foreach (var (token, kind, args) in layers)
        {
            CheckInput(spec, token, kind, shape, table);
            Module module;
            try
            {
                module = kind.Create(args!, shape, rng);
            }
            catch (ArgumentException e)
            {
                throw new ModelSpecException(spec, token.Start, token.Length, $"{token.Text} (column {token.Column}) cannot be built for input {FormatShape(shape)}: {e.Message.TrimEnd('.')}");
            }
            shape = DryRun(spec, token, module, shape);
            modules.Add(module);
        }
        return new Sequential([.. modules]);
    }

    /// <summary>
    /// True for the command line's older shorthand <c>mlp:64,32</c> (see <see cref="Mlp.ParseHidden"/>), which is not
    /// model-language text.
    /// </summary>
    public static bool IsMlpShorthand(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var s = spec.Trim();
        return s.StartsWith("mlp", StringComparison.OrdinalIgnoreCase) && (s.Length == 3 || s[3] == ':');
    }

    /// <summary>A per-example shape as a batch of N examples has it, as errors and summaries show it: [32, 7, 7] → "[N, 32, 7, 7]".</summary>
    public static string FormatShape(IReadOnlyList<int> perExample) =>
        "[" + string.Join(", ", perExample.Select(d => d.ToString(CultureInfo.InvariantCulture)).Prepend("N")) + "]";

    private static LayerKind Find(string spec, LayerToken token, IReadOnlyList<LayerKind> table)
    {
        var kind = table.FirstOrDefault(k => k.Name == token.Name);
        if (kind is not null) return kind;
        var nearest = table.Select(k => (k.Name, Distance: EditDistance(k.Name, token.Name)))
            .Where(k => k.Distance <= Math.Min(2, token.Name.Length - 1)).OrderBy(k => k.Distance).FirstOrDefault().Name;
        throw new ModelSpecException(spec, token.Start, token.Length,
            $"unknown layer '{token.Name}' (column {token.Column}); {(nearest is null ? "" : $"did you mean {nearest}? ")}known layers: {string.Join(", ", table.Select(k => k.Name))}");
    }

    /// <summary>Matches the token's arguments to the layer's parameters and checks each value's kind.</summary>
    private static LayerArgs Bind(string spec, LayerToken token, LayerKind kind)
    {
        string at = $"{token.Text} (column {token.Column})";
        var values = new Dictionary<string, List<object>>();
        var positional = kind.Params.Where(p => p.Positional).ToList();
        int next = 0;
        foreach (var arg in token.Positional)
        {
            if (IsFlagWord(arg.Value) && kind.Params.FirstOrDefault(p => p.Kind == ArgKind.Flag && p.Name == arg.Value.ToLowerInvariant()) is { } flag)
            {
                if (values.ContainsKey(flag.Name))
                    throw new ModelSpecException(spec, arg.Start, arg.Length, $"{at}: argument '{flag.Name}' is given twice");
                values[flag.Name] = [true];
                continue;
            }
            if (next == positional.Count)
            {
                string takes = positional.Count == 0 ? "no positional arguments" : $"{positional.Count} positional argument{(positional.Count == 1 ? "" : "s")} ({string.Join(", ", positional.Select(p => p.Name))})";
                throw new ModelSpecException(spec, arg.Start, arg.Length, $"{at} takes {takes} but got {token.Positional.Count}; write {kind.Usage}");
            }
            var p = positional[next];
            Add(p, arg);
            if (!p.Repeated) next++;
        }
        foreach (var arg in token.Named)
        {
            var p = kind.Params.FirstOrDefault(p => p.Name == arg.Name)
                ?? throw new ModelSpecException(spec, arg.Start, arg.Length,
                    $"{at}: unknown argument '{arg.Name}'; {kind.Name} takes {(kind.Params.Count == 0 ? "no arguments" : string.Join(", ", kind.Params.Select(q => q.Name)))}");
            if (values.ContainsKey(p.Name))
                throw new ModelSpecException(spec, arg.Start, arg.Length, $"{at}: argument '{p.Name}' is given twice");
            Add(p, arg);
        }
        var missing = kind.Params.FirstOrDefault(p => p.Required && !values.ContainsKey(p.Name));
        if (missing is not null)
            throw new ModelSpecException(spec, token.Start, token.Length, $"{at} needs its argument '{missing.Name}'; write {kind.Usage}");
        return new LayerArgs(values.ToDictionary(v => v.Key, v => v.Value.ToArray()));

        void Add(LayerParam p, LayerArgument arg)
        {
            var value = Value(p.Kind, arg.Value)
                ?? throw new ModelSpecException(spec, arg.Start, arg.Length, $"{at}: {p.Name} must be {Expected(p.Kind)} but got '{arg.Value}'");
            if (!values.TryGetValue(p.Name, out var list)) values[p.Name] = list = [];
            list.Add(value);
        }
    }

    private static object? Value(ArgKind kind, string text)
    {
        var inv = CultureInfo.InvariantCulture;
        return kind switch
        {
            ArgKind.Count => int.TryParse(text, NumberStyles.None, inv, out var n) && n >= 1 ? n : null,
            ArgKind.NonNegative => int.TryParse(text, NumberStyles.None, inv, out var n) ? n : null,
            ArgKind.Number => float.TryParse(text, NumberStyles.Float, inv, out var x) && float.IsFinite(x) ? x : null,
            ArgKind.Fraction => float.TryParse(text, NumberStyles.Float, inv, out var x) && x >= 0 && x < 1 ? x : null,
            ArgKind.Flag => text.ToLowerInvariant() switch { "true" => true, "false" => false, _ => null },
            _ => null,
        };
    }

    private static string Expected(ArgKind kind) => kind switch
    {
        ArgKind.Count => "a whole number ≥ 1",
        ArgKind.NonNegative => "a whole number ≥ 0",
        ArgKind.Number => "a number",
        ArgKind.Fraction => "a number in [0, 1)",
        _ => "true or false",
    };

    private static void CheckInput(string spec, LayerToken token, LayerKind kind, IReadOnlyList<int> shape, IReadOnlyList<LayerKind> table)
    {
        string at = $"{token.Text} (column {token.Column})";
        if (kind.Input == LayerInput.Flat && shape.Count != 1)
        {
            string fix = table.Any(k => k.Name == "flatten") ? "flatten" : $"reshape({Shapes.Size([.. shape])})";
            throw new ModelSpecException(spec, token.Start, token.Length, $"{at} needs a flat input [N, F] but gets {FormatShape(shape)}; put {fix} before it");
        }
        if (kind.Input == LayerInput.Image && shape.Count != 3)
            throw new ModelSpecException(spec, token.Start, token.Length, $"{at} needs an image input [N, C, H, W] but gets {FormatShape(shape)}; put reshape(C,H,W) before it");
    }

    /// <summary>The module's per-example output shape: its forward pass on zeros [1, ..shape], without a graph.</summary>
    private static IReadOnlyList<int> DryRun(string spec, LayerToken token, Module module, IReadOnlyList<int> shape)
    {
        try
        {
            return OutputShape(module, shape);
        }
        catch (ArgumentException e)
        {
            throw new ModelSpecException(spec, token.Start, token.Length, $"{token.Text} (column {token.Column}) does not fit its input {FormatShape(shape)}: {e.Message.TrimEnd('.')}");
        }
    }

    /// <summary>
    /// Runs <paramref name="module"/> once on zeros of shape [1, ..<paramref name="perExample"/>] in an
    /// <see cref="InferenceMode"/> scope (evaluation behaviour, no graph, the module unchanged) and returns the
    /// per-example output shape.
    /// </summary>
    /// <exception cref="ArgumentException">The module rejects the shape (a <see cref="ShapeMismatchException"/>), or
    /// it changes the batch size.</exception>
    internal static IReadOnlyList<int> OutputShape(Module module, IReadOnlyList<int> perExample)
    {
        using var _ = InferenceMode.Enter();
        var output = module.Forward(Tensor.Zeros([1, .. perExample]));
        if (output.Rank == 0 || output.Shape[0] != 1)
            throw new ShapeMismatchException($"{module} turned a batch of 1 into shape {Shapes.Format(output.dims)}; a layer must keep the batch axis");
        return output.dims[1..];
    }

    /// <summary>Optimal-string-alignment distance: edits, counting a swap of neighbours (rleu → relu) as one.</summary>
    private static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
