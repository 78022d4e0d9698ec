using System.Globalization;
using System.Text;

namespace Backprop.Explain;

/// <summary>
/// One training step explained in the seeds' names: the forward matrices (<c>H_in, H_out, O_in, O_out</c>), the
/// errors and deltas of backpropagation (<c>O_error, O_delta, H_error, H_delta</c>) and the weight gradients
/// (<c>W2_update, W1_update</c>), each computed by the autograd engine and listed in the order a lecture shows them.
/// </summary>
/// <remarks>
/// The loss is the seeds' <c>E = 1/(2N)·Σ(O_out − Y)²</c> with N the number of elements of Y, so a delta in the
/// seeds' sense is N times the engine's gradient (<c>O_delta = N·∂E/∂O_in</c>) while an update is the gradient
/// itself (<c>W2_update = ∂E/∂W2 = (1/N)·H_outᵀ·O_delta</c>). Build one with <see cref="ForTwoLayer"/>,
/// <see cref="ForModel(Tensor, Tensor, IReadOnlyList{TraceLayer})"/> or <see cref="SeedExample.Trace"/>.
/// </remarks>
public sealed partial class StepTrace
{
    private readonly List<TraceEntry> entries;
    private readonly Dictionary<string, TraceEntry> byName;

    private StepTrace(List<TraceEntry> entries, Tensor loss, int n)
    {
        this.entries = entries;
        byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        Loss = loss;
        N = n;
    }

    /// <summary>The named matrices in lecture order: inputs and weights, forward pass, then backward pass.</summary>
    public IReadOnlyList<TraceEntry> Entries => entries;

    /// <summary>The names of <see cref="Entries"/>, in order.</summary>
    public IEnumerable<string> Names => entries.Select(e => e.Name);

    /// <summary>
    /// E, the scalar loss: the root of the recorded graph, so <c>GraphExport.ToDot(trace.Loss)</c> draws the whole
    /// step with the seeds' names on its nodes. <c>Loss.Item()</c> is its value.
    /// </summary>
    public Tensor Loss { get; }

    /// <summary>The N of <c>1/(2N)</c>: the number of elements of Y.</summary>
    public int N { get; }

    /// <summary>The matrix called <paramref name="name"/> (e.g. <c>"H_delta"</c>).</summary>
    /// <exception cref="KeyNotFoundException">No such name; the message lists the names this trace has.</exception>
    public Tensor this[string name] =>
        byName.TryGetValue(name, out var e)
            ? e.Value
            : throw new KeyNotFoundException($"StepTrace has no matrix named '{name}'; it has {string.Join(", ", Names)}.");

    /// <summary>The entry called <paramref name="name"/>, or null.</summary>
    public TraceEntry? Find(string name) => byName.GetValueOrDefault(name);

    /// <summary>
    /// Every matrix as <c>NAME = [[...]]</c>, one row per line with rows and columns aligned (NumPy style), separated by
    /// blank lines, then the loss.
    /// With <paramref name="formulas"/>, each computed matrix first shows its seed formula and where the engine's
    /// value came from: <c>O_delta = O_error ⊙ O_out ⊙ (1 − O_out)   (autograd: N·∂E/∂O_in)</c>.
    /// </summary>
    public string ToText(int decimals = 3, bool formulas = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(decimals);
        var sb = new StringBuilder();
        foreach (var e in entries)
        {
            string lead = e.Name + " = ";
            if (formulas && e.Formula.Length > 0)
            {
                sb.Append(lead).Append(e.Formula).Append("   (autograd: ").Append(e.Autograd).Append(")\n");
                lead = new string(' ', e.Name.Length) + " = ";
            }
            // The formatter breaks rows with "\n "; indenting every break by the lead aligns the rows under "[[".
            sb.Append(lead).Append(MatrixText.Format(e.Value, decimals).Replace("\n", "\n" + new string(' ', lead.Length))).Append("\n\n");
        }
        sb.Append("E = ");
        if (formulas) sb.Append("1/(2N)·Σ(O_out − Y)² = ");
        sb.Append(Loss.Item().ToString("F" + decimals, CultureInfo.InvariantCulture));
        sb.Append("   (N = ").Append(N.ToString(CultureInfo.InvariantCulture)).Append(")\n");
        return sb.ToString();
    }

    /// <summary>
    /// One JSON object keyed by the names, in order, each holding its matrix as nested arrays of numbers:
    /// <c>{"X": [[4.9, 3, 1.4, 0.2], ...], ..., "W1_update": [[...]]}</c>. Numbers are the float32 values written
    /// in their shortest round-trip form; NaN and ±∞ are written as <c>null</c>.
    /// </summary>
    public string ToJson(bool indented = false) => TensorJson.Render(indented, w =>
    {
        w.WriteStartObject();
        foreach (var e in entries)
        {
            w.WritePropertyName(e.Name);
            TensorJson.Write(w, e.Value);
        }
        w.WriteEndObject();
    });

    /// <inheritdoc/>
    public override string ToString() => ToText();
}
