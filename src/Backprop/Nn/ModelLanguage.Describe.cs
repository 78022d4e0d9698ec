namespace Backprop.Nn;

public static partial class ModelLanguage
{
    /// <summary>
    /// The spec text of <paramref name="model"/>, e.g. <c>reshape(1,28,28)-dense(128)-relu-dense(10)</c>: layers of
    /// nested Sequentials in order, each written by its <see cref="LayerKind.Describe"/>. Building the text again for
    /// the model's input gives the same architecture (with fresh weights).
    /// </summary>
    /// <exception cref="ArgumentException">A layer has no token in <see cref="Layers"/>.</exception>
    public static string Describe(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return string.Join("-", Leaves(model).Select(m => KindOf(m) is { } k ? k.Describe(m)!
            : throw new ArgumentException($"model spec: {m} ({m.GetType().Name}) has no model-language token; known layers: {string.Join(", ", Layers.Select(l => l.Name))}.", nameof(model))));
    }

    /// <summary>The table entry that describes <paramref name="module"/>, or null.</summary>
    internal static LayerKind? KindOf(Module module) => Layers.FirstOrDefault(k => k.Describe(module) is not null);

    /// <summary>The layers of a model in order, with nested Sequentials opened up.</summary>
    internal static IEnumerable<Module> Leaves(Module model) =>
        model is Sequential s ? s.Layers.SelectMany(Leaves) : [model];
}
