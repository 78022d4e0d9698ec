using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Backprop.IO;

/// <summary>
/// Reads and writes the safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
/// mapping each tensor name to its dtype, shape and byte range, an optional string-to-string
/// <c>__metadata__</c> map, then the raw little-endian data. Only F32 tensors are supported.
/// </summary>
public static class SafeTensors
{
    private const string MetadataKey = "__metadata__";
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    /// <summary>
    /// Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="path"/> atomically: the data
    /// goes to a temporary file beside it that is then renamed, so a crash never leaves a half-written file.
    /// </summary>
    public static void Write(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header[MetadataKey] = meta;
        }
        long offset = 0;
        foreach (var (name, t) in tensors)
        {
            if (name == MetadataKey || header.ContainsKey(name)) throw new ArgumentException($"duplicate or reserved tensor name '{name}'.");
            long bytes = (long)t.Size * sizeof(float);
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray([.. t.Shape.Select(d => (JsonNode)d)]),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (headerBytes.Length + 7) / 8 * 8;   // the format recommends 8-byte alignment of the data

        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                Span<byte> len = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
                stream.Write(len);
                stream.Write(headerBytes);
                for (int i = headerBytes.Length; i < padded; i++) stream.WriteByte((byte)' ');
                foreach (var (_, t) in tensors) WriteFloats(stream, t.AsSpan());
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Reads every tensor and the metadata from a safetensors file.</summary>
    /// <exception cref="ModelFormatException">The file is truncated, corrupt, or holds a dtype other than F32.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"model file '{path}' does not exist.", path);
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8)
            throw new ModelFormatException(path, $"the file is {bytes.Length} bytes long, too short to be a safetensors file (it needs an 8-byte header length).");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLen > (ulong)Math.Min(MaxHeaderBytes, bytes.Length - 8))
            throw new ModelFormatException(path, $"the header claims {headerLen} bytes but the file has only {bytes.Length - 8} after the length field: the file is truncated or not a safetensors file.");

        JsonObject header;
        try
        {
            header = JsonNode.Parse(bytes.AsSpan(8, (int)headerLen)) as JsonObject
                ?? throw new ModelFormatException(path, "the header is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, $"the header is not valid JSON ({e.Message}): the file is corrupt or not a safetensors file.", e);
        }

        long dataStart = 8 + (long)headerLen;
        long dataLength = bytes.Length - dataStart;
        var tensors = new Dictionary<string, Tensor>();
        var metadata = new Dictionary<string, string>();
        foreach (var (name, node) in header)
        {
            try
            {
                if (name == MetadataKey)
                {
                    foreach (var (k, v) in node as JsonObject ?? throw new ModelFormatException(path, "__metadata__ is not an object."))
                        metadata[k] = v?.GetValue<string>() ?? "";
                    continue;
                }
                var entry = node as JsonObject ?? throw new ModelFormatException(path, $"entry '{name}' is not an object.");
                string dtype = entry["dtype"]?.GetValue<string>() ?? throw new ModelFormatException(path, $"tensor '{name}' has no dtype.");
                if (dtype != "F32")
                    throw new ModelFormatException(path, $"tensor '{name}' has dtype {dtype}; only F32 is supported.");
                var shape = (entry["shape"] as JsonArray ?? throw new ModelFormatException(path, $"tensor '{name}' has no shape."))
                    .Select(d => d!.GetValue<int>()).ToArray();
                var offsets = entry["data_offsets"] as JsonArray ?? throw new ModelFormatException(path, $"tensor '{name}' has no data_offsets.");
                long begin = offsets[0]!.GetValue<long>(), end = offsets[1]!.GetValue<long>();
                long expected = (long)Shapes.Size(shape) * sizeof(float);
                if (begin < 0 || end < begin || end - begin != expected)
                    throw new ModelFormatException(path, $"tensor '{name}' of shape {Shapes.Format(shape)} needs {expected} bytes but its offsets are [{begin}, {end}).");
                if (end > dataLength)
                    throw new ModelFormatException(path, $"tensor '{name}' ends at byte {end} of the data but the file holds only {dataLength}: the file is truncated.");
                var t = Tensor.Zeros(shape);
                ReadFloats(bytes.AsSpan((int)(dataStart + begin), (int)expected), t.AsSpan());
                tensors[name] = t;
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException or NullReferenceException or IndexOutOfRangeException)
            {
                throw new ModelFormatException(path, $"entry '{name}' is malformed ({e.Message}).", e);
            }
        }
        return (tensors, metadata);
    }

    private static void WriteFloats(Stream stream, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian) { stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values)); return; }
        Span<byte> b = stackalloc byte[4];
        foreach (var v in values) { BinaryPrimitives.WriteSingleLittleEndian(b, v); stream.Write(b); }
    }

    private static void ReadFloats(ReadOnlySpan<byte> bytes, Span<float> values)
    {
        for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(i * 4, 4));
    }
}
