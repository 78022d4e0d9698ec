using System.Text.Json;
using Backprop.Explain;

namespace Backprop.Playground;

/// <summary>A <see cref="StepTrace"/> for the page: each matrix with its seed formula and where autograd took it from.</summary>
internal static class TraceJson
{
    /// <summary>
    /// <c>{"n": N, "loss": E, "entries": [{"name": "H_in", "formula": "X·W1", "autograd": "forward", "shape": [r, c],
    /// "value": [[...]]}, ...]}</c>; values are the engine's float32s in shortest round-trip form.
    /// </summary>
    public static void Write(Utf8JsonWriter w, StepTrace trace)
    {
        w.WriteStartObject();
        w.WriteNumber("n", trace.N);
        float loss = trace.Loss.Item();
        if (float.IsFinite(loss)) w.WriteNumber("loss", loss); else w.WriteNull("loss");
        w.WriteStartArray("entries");
        foreach (var e in trace.Entries)
        {
            w.WriteStartObject();
            w.WriteString("name", e.Name);
            w.WriteString("formula", e.Formula);
            w.WriteString("autograd", e.Autograd);
            var shape = e.Value.Shape;
            int rows = shape.Count == 2 ? shape[0] : 1, cols = shape.Count == 2 ? shape[1] : e.Value.Size;
            w.WriteStartArray("value");
            var values = e.Value.ToArray();
            for (int r = 0; r < rows; r++)
            {
                w.WriteStartArray();
                for (int c = 0; c < cols; c++)
                {
                    float v = values[r * cols + c];
                    if (float.IsFinite(v)) w.WriteNumberValue(v); else w.WriteNullValue();
                }
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
