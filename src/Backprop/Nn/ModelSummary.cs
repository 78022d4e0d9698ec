using System.Globalization;
using System.Text;

namespace Backprop.Nn;

/// <summary>One layer of a <see cref="ModelSummary"/>.</summary>
/// <param name="Index">Position among the model's layers (nested Sequentials opened up).</param>
/// <param name="Layer">The layer's description, e.g. <c>Dense(784→128)</c>.</param>
/// <param name="OutputShape">Its per-example output shape (without the batch axis).</param>
/// <param name="Parameters">Its trainable values.</param>
/// <param name="Flops">Floating-point operations per example of its forward pass, or null when not counted
/// (elementwise layers, or layers the model language does not know).</param>
public sealed record SummaryRow(int Index, string Layer, IReadOnlyList<int> OutputShape, int Parameters, long? Flops);

/// <summary>
/// Each layer's output shape, parameter count and forward cost for a given input shape, found by running the model
/// once on zeros (evaluation mode, no graph): what <c>backprop summary</c> prints.
/// </summary>
public sealed class ModelSummary
{
    private ModelSummary(IReadOnlyList<int> inputShape, IReadOnlyList<SummaryRow> rows, string? spec, int totalParameters)
    {
        TotalParameters = totalParameters;
        InputShape = inputShape;
        Rows = rows;
        Spec = spec;
    }

    /// <summary>Summarises <paramref name="model"/> for per-example inputs of shape <paramref name="inputShape"/> ([F] for rows).</summary>
    /// <exception cref="ShapeMismatchException">A layer does not accept the output of the one before it.</exception>
    public static ModelSummary Of(Module model, IReadOnlyList<int> inputShape)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputShape);
        var rows = new List<SummaryRow>();
        var shape = inputShape;
        foreach (var layer in ModelLanguage.Leaves(model))
        {
            var output = ModelLanguage.OutputShape(layer, shape);
            long? flops = ModelLanguage.KindOf(layer)?.Flops is { } cost ? cost(layer, shape, output) : null;
            rows.Add(new SummaryRow(rows.Count, layer.ToString(), output, layer.ParameterCount(), flops));
            shape = output;
        }
        string? spec;
        try { spec = ModelLanguage.Describe(model); }
        catch (ArgumentException) { spec = null; }
        return new ModelSummary([.. inputShape], rows, spec, model.ParameterCount());
    }

    /// <summary>The per-example input shape the summary was made for.</summary>
    public IReadOnlyList<int> InputShape { get; }

    /// <summary>One row per layer, first to last.</summary>
    public IReadOnlyList<SummaryRow> Rows { get; }

    /// <summary>The model in the model language, or null when a layer has no token.</summary>
    public string? Spec { get; }

    /// <summary>The per-example shape the model outputs.</summary>
    public IReadOnlyList<int> OutputShape => Rows.Count == 0 ? InputShape : Rows[^1].OutputShape;

    /// <summary>The model's trainable values; a layer used twice has a row per use but counts once here.</summary>
    public int TotalParameters { get; }

    /// <summary>Floating-point operations per example of a forward pass, counting the layers that have a cost.</summary>
    public long TotalFlops => Rows.Sum(r => r.Flops ?? 0);

    /// <summary>
    /// The table: index, layer, output shape, parameters and FLOPs per example, then the totals.
    /// </summary>
    public override string ToString()
    {
        var table = Rows.Select(r => (Index: Int(r.Index), r.Layer, Output: ModelLanguage.FormatShape(r.OutputShape),
            Params: Int(r.Parameters), Flops: r.Flops is { } f ? Int(f) : "-")).ToList();
        string total = Int(TotalParameters), totalFlops = Int(TotalFlops);
        int wIndex = Math.Max(1, table.Max(r => (int?)r.Index.Length) ?? 0);
        int wLayer = Math.Max("total".Length, table.Max(r => (int?)r.Layer.Length) ?? 0);
        int wOutput = Math.Max("output".Length, table.Max(r => (int?)r.Output.Length) ?? 0);
        int wParams = Math.Max(total.Length, Math.Max("params".Length, table.Max(r => (int?)r.Params.Length) ?? 0));
        int wFlops = Math.Max(totalFlops.Length, Math.Max("FLOPs".Length, table.Max(r => (int?)r.Flops.Length) ?? 0));

        var sb = new StringBuilder();
        if (Spec is not null) sb.Append("model  ").Append(Spec).Append('\n');
        sb.Append("input  ").Append(ModelLanguage.FormatShape(InputShape)).Append('\n').Append('\n');
        sb.Append($" {"#".PadLeft(wIndex)}  {"layer".PadRight(wLayer)}  {"output".PadRight(wOutput)}  {"params".PadLeft(wParams)}  {"FLOPs".PadLeft(wFlops)}\n");
        foreach (var r in table)
            sb.Append($" {r.Index.PadLeft(wIndex)}  {r.Layer.PadRight(wLayer)}  {r.Output.PadRight(wOutput)}  {r.Params.PadLeft(wParams)}  {r.Flops.PadLeft(wFlops)}\n");
        sb.Append($" {"".PadLeft(wIndex)}  {"total".PadRight(wLayer)}  {"".PadRight(wOutput)}  {total.PadLeft(wParams)}  {totalFlops.PadLeft(wFlops)}\n\n");
        sb.Append($"{total} parameters; {MFlops(TotalFlops)} MFLOPs per example forward (dense and conv products; elementwise layers not counted)\n");
        return sb.ToString();
    }

    private static string MFlops(long flops)
    {
        double m = flops / 1e6;
        return m.ToString(m >= 100 ? "N0" : m >= 0.01 ? "0.###" : "0.######", CultureInfo.InvariantCulture);
    }

    private static string Int(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
}
