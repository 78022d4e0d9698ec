using System.Text.Json;

namespace Backprop.Explain;

/// <summary>Writes tensors as JSON: a scalar as a number, a matrix as nested arrays (row-major, outermost first).</summary>
internal static class TensorJson
{
    /// <summary>Nested arrays matching the tensor's shape; non-finite values become <c>null</c> (JSON has no NaN).</summary>
    public static void Write(Utf8JsonWriter writer, Tensor tensor)
    {
        var values = tensor.ToArray();
        int offset = 0;
        WriteAxis(writer, values, tensor.Shape, 0, ref offset);
    }

    /// <summary>A number, or <c>null</c> for NaN and ±∞.</summary>
    public static void WriteNumber(Utf8JsonWriter writer, float value)
    {
        if (float.IsFinite(value)) writer.WriteNumberValue(value);
        else writer.WriteNullValue();
    }

    private static void WriteAxis(Utf8JsonWriter writer, float[] values, IReadOnlyList<int> shape, int axis, ref int offset)
    {
        if (axis == shape.Count)
        {
            WriteNumber(writer, values[offset++]);
            return;
        }
        writer.WriteStartArray();
        for (int i = 0; i < shape[axis]; i++) WriteAxis(writer, values, shape, axis + 1, ref offset);
        writer.WriteEndArray();
    }

    /// <summary>Runs <paramref name="write"/> against a fresh writer and returns the UTF-8 text.</summary>
    public static string Render(bool indented, Action<Utf8JsonWriter> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented }))
            write(writer);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
