using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Backprop.IO;

/// <summary>
/// Reads and writes the safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
/// mapping each tensor name to its dtype, shape and byte range, an optional string-to-string
/// <c>__metadata__</c> map, then the raw little-endian data. Tensors are F32 by default; F64, F16, BF16, I64, I32,
/// I16, I8, U8 and BOOL tensors (as PyTorch writes them) are read, converted to float32, and can be written.
/// </summary>
/// <remarks>
/// Files written here carry a SHA-256 of their data section in the metadata entry <c>backprop.sha256</c>;
/// <see cref="Read"/> checks it when present (files from other tools have none and load as before) and never returns
/// it among the metadata. As the format's reference implementation does, reading also refuses tensor byte ranges that
/// overlap, leave gaps, or stop short of the file's end (once sorted by offset; the header may list them in any order).
/// </remarks>
public static class SafeTensors
{
    private const string MetadataKey = "__metadata__";
    private const string ChecksumKey = "backprop.sha256";
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    /// <summary>
    /// Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="path"/> atomically: the data
    /// goes to a temporary file beside it that is then renamed, so a crash never leaves a half-written file.
    /// </summary>
    /// <param name="path">The file to write.</param>
    /// <param name="tensors">The tensors, by name, in the order their data is laid out.</param>
    /// <param name="metadata">String entries for the header's <c>__metadata__</c>.</param>
    /// <param name="dtypes">The element type to store a tensor as, by name (F32 for names it lacks): floats are
    /// rounded to the nearest, integer types take only whole numbers in their range.</param>
    /// <exception cref="ArgumentException">A duplicate or reserved name, or a value its integer dtype cannot hold.</exception>
    public static void Write(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null,
        IReadOnlyDictionary<string, SafeTensorsDType>? dtypes = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var header = new JsonObject();
        var meta = new JsonObject();
        foreach (var (k, v) in metadata ?? new Dictionary<string, string>()) meta[k] = v;
        header[MetadataKey] = meta;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long offset = 0;
        // Tensors stored as F32 are written straight from their storage; any other dtype is encoded here once.
        // (Both passes enumerate the list, as a checkpoint's crash test relies on.)
        var encoded = new List<byte[]?>(tensors.Count);
        foreach (var (name, t) in tensors)
        {
            if (name == MetadataKey || header.ContainsKey(name)) throw new ArgumentException($"duplicate or reserved tensor name '{name}'.");
            var dtype = dtypes is not null && dtypes.TryGetValue(name, out var d) ? d : SafeTensorsDType.F32;
            var e = dtype == SafeTensorsDType.F32 ? null : SafeTensorsDTypes.Encode(dtype, t.AsSpan(), name);
            encoded.Add(e);
            if (e is not null) sha.AppendData(e);
            else AppendLittleEndian(sha, t.AsSpan());
            long bytes = (long)t.Size * SafeTensorsDTypes.Size(dtype);
            header[name] = new JsonObject
            {
                ["dtype"] = SafeTensorsDTypes.Name(dtype),
                ["shape"] = new JsonArray([.. t.Shape.Select(d => (JsonNode)d)]),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        meta[ChecksumKey] = Convert.ToHexString(sha.GetHashAndReset());
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (headerBytes.Length + 7) / 8 * 8;   // the format recommends 8-byte alignment of the data

        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        TempFiles.RemoveStale(path);
        var temp = TempFiles.PathFor(path);
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                Span<byte> len = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
                stream.Write(len);
                stream.Write(headerBytes);
                for (int i = headerBytes.Length; i < padded; i++) stream.WriteByte((byte)' ');
                int next = 0;
                foreach (var (_, t) in tensors)
                    if (encoded[next++] is { } e) stream.Write(e);
                    else WriteFloats(stream, t.AsSpan());
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>
    /// Reads every tensor and the metadata from a safetensors file, each tensor converted to float32 as
    /// <see cref="SafeTensorsEntry.ToTensor"/> does (use <see cref="ReadEntries"/> to see the stored dtypes).
    /// </summary>
    /// <exception cref="ModelFormatException">The file is truncated or corrupt, holds a dtype Backprop does not read,
    /// or a value float32 cannot hold (an integer above 2²⁴ off float32's grid, an F64 beyond its range).</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        var (entries, metadata) = ReadEntries(path);
        return (entries.ToDictionary(e => e.Key, e => e.Value.ToTensor()), metadata);
    }

    /// <summary>
    /// Reads every tensor of a safetensors file as stored (name, dtype, shape, raw bytes), and the metadata, with the
    /// checks of <see cref="Read"/> on the file's structure and checksum.
    /// </summary>
    /// <exception cref="ModelFormatException">The file is truncated or corrupt, or holds a dtype Backprop does not read.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static (Dictionary<string, SafeTensorsEntry> Entries, Dictionary<string, string> Metadata) ReadEntries(string path)
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
        var entries = new List<(string Name, SafeTensorsDType DType, int[] Shape, long Begin, long End)>();
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
                string dtypeName = entry["dtype"]?.GetValue<string>() ?? throw new ModelFormatException(path, $"tensor '{name}' has no dtype.");
                var dtype = SafeTensorsDTypes.Parse(dtypeName)
                    ?? throw new ModelFormatException(path, $"tensor '{name}' has dtype {dtypeName}, which Backprop does not read; it reads {SafeTensorsDTypes.Supported}.");
                var shape = (entry["shape"] as JsonArray ?? throw new ModelFormatException(path, $"tensor '{name}' has no shape."))
                    .Select(d => d!.GetValue<int>()).ToArray();
                var offsets = entry["data_offsets"] as JsonArray ?? throw new ModelFormatException(path, $"tensor '{name}' has no data_offsets.");
                long begin = offsets[0]!.GetValue<long>(), end = offsets[1]!.GetValue<long>();
                long expected = (long)Shapes.Size(shape) * SafeTensorsDTypes.Size(dtype);
                if (begin < 0 || end < begin || end - begin != expected)
                    throw new ModelFormatException(path, $"tensor '{name}' of shape {Shapes.Format(shape)} needs {expected} bytes but its offsets are [{begin}, {end}).");
                if (end > dataLength)
                    throw new ModelFormatException(path, $"tensor '{name}' ends at byte {end} of the data but the file holds only {dataLength}: the file is truncated.");
                entries.Add((name, dtype, shape, begin, end));
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException or NullReferenceException or IndexOutOfRangeException)
            {
                // The JSON reader's own wording ("could not be converted to System.Int32") says nothing to a user.
                throw new ModelFormatException(path, name == MetadataKey
                    ? "__metadata__ must map names to strings."
                    : $"entry '{name}' is malformed: a tensor entry needs \"dtype\" (a string), \"shape\" (a list of whole numbers) and \"data_offsets\" (two byte offsets).", e);
            }
        }
        CheckLayout(path, entries, dataLength);
        var data = bytes.AsMemory((int)dataStart);
        if (metadata.Remove(ChecksumKey, out var recorded))
        {
            var actual = Convert.ToHexString(SHA256.HashData(data.Span));
            if (!string.Equals(actual, recorded, StringComparison.OrdinalIgnoreCase))
                throw new ModelFormatException(path, $"corrupt: checksum mismatch: its tensor data has SHA-256 {Short(actual)} but the file records {Short(recorded)}; the file was damaged after it was written. Use an undamaged copy or train again.");
        }

        var read = new Dictionary<string, SafeTensorsEntry>();
        foreach (var (name, dtype, shape, begin, end) in entries)
            read[name] = new SafeTensorsEntry(path, name, dtype, shape, data.Slice((int)begin, (int)(end - begin)));
        return (read, metadata);
    }

    // Every byte of the data section belongs to exactly one tensor: sorted by offset, each range starts where the
    // previous one ended and the last ends at the file's end. An overlap would let two tensors (or a tensor and
    // hidden bytes) alias each other; the reference implementation refuses the same files.
    private static void CheckLayout(string path, List<(string Name, SafeTensorsDType DType, int[] Shape, long Begin, long End)> entries, long dataLength)
    {
        var sorted = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long at = 0;
        string? previous = null;
        long previousBegin = 0;
        foreach (var (name, _, _, begin, end) in sorted)
        {
            if (begin < at)
                throw new ModelFormatException(path, $"the data of tensors '{previous}' [{previousBegin}, {at}) and '{name}' [{begin}, {end}) overlap; each byte must belong to one tensor (the file is corrupt or was crafted).");
            if (begin > at)
                throw new ModelFormatException(path, $"bytes [{at}, {begin}) of the data, before tensor '{name}', belong to no tensor; safetensors data must be packed without gaps (the file is corrupt).");
            if (end > begin) (previous, previousBegin, at) = (name, begin, end);
        }
        if (at != dataLength)
            throw new ModelFormatException(path, $"the data holds {dataLength - at} bytes after the last tensor, which ends at byte {at}; the file is corrupt or not a safetensors file.");
    }

    /// <summary>Adds <paramref name="values"/> to the hash as the little-endian bytes the file stores.</summary>
    private static void AppendLittleEndian(IncrementalHash sha, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian) { sha.AppendData(MemoryMarshal.AsBytes(values)); return; }
        var bytes = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        sha.AppendData(bytes);
    }

    private static string Short(string hex) => hex.Length > 16 ? hex[..16] + "…" : hex.Length == 0 ? "(empty)" : hex;

    private static void WriteFloats(Stream stream, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian) { stream.Write(MemoryMarshal.AsBytes(values)); return; }
        Span<byte> b = stackalloc byte[4];
        foreach (var v in values) { BinaryPrimitives.WriteSingleLittleEndian(b, v); stream.Write(b); }
    }
}
