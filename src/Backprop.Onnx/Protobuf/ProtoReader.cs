using System.Buffers.Binary;
using System.Text;

namespace Backprop.Onnx.Protobuf;

/// <summary>
/// Reads the fields of one protobuf message from a span, checking every length against the bytes that remain, so a
/// truncated or hostile file ends in an <see cref="OnnxFormatException"/> naming the offset, never in an
/// out-of-range read or an allocation larger than the file. Embedded messages are read by <see cref="Nested"/>,
/// which counts the depth and refuses nesting deeper than <see cref="MaxDepth"/>.
/// </summary>
internal ref struct ProtoReader
{
    /// <summary>The deepest nesting of messages read (an ONNX model needs about 8; subgraphs add a few each).</summary>
    public const int MaxDepth = 64;

    private readonly ReadOnlySpan<byte> data;
    private readonly long origin;   // offset of data[0] in the file, for messages
    private readonly int depth;
    private int position;

    /// <summary>A reader over a whole message; <paramref name="origin"/> is its offset in the file.</summary>
    public ProtoReader(ReadOnlySpan<byte> data, long origin = 0, int depth = 0)
    {
        this.data = data;
        this.origin = origin;
        this.depth = depth;
    }

    /// <summary>The current offset in the file.</summary>
    public readonly long Offset => origin + position;

    /// <summary>Reads the next tag; false at the end of the message.</summary>
    public bool Next(out int field, out WireType type)
    {
        field = 0;
        type = WireType.Varint;
        if (position >= data.Length) return false;
        long at = Offset;
        ulong tag = Varint();
        ulong number = tag >> 3;
        int wire = (int)(tag & 7);
        if (number == 0 || number > 536_870_911)
            throw new OnnxFormatException($"a field number of {number} at byte {at} (protobuf numbers fields 1 to 536870911); the file is corrupt or not ONNX.");
        if (wire is not (0 or 1 or 2 or 5))
            throw new OnnxFormatException($"wire type {wire} at byte {at} (ONNX uses 0, 1, 2 and 5); the file is corrupt or not ONNX.");
        field = (int)number;
        type = (WireType)wire;
        return true;
    }

    /// <summary>A varint value (at most ten bytes).</summary>
    public ulong Varint()
    {
        ulong value = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (position >= data.Length)
                throw new OnnxFormatException($"the file ends inside a number at byte {Offset}; it is truncated.");
            byte b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new OnnxFormatException($"a number longer than ten bytes ends at byte {Offset}; the file is corrupt.");
    }

    /// <summary>A varint read as a signed 64-bit value (int64 fields).</summary>
    public long Int64() => (long)Varint();

    /// <summary>A varint that must fit an int: a count, a dimension, an enum.</summary>
    public int Int32(string what)
    {
        long at = Offset;
        long v = Int64();
        if (v < int.MinValue || v > int.MaxValue)
            throw new OnnxFormatException($"{what} at byte {at} is {v}, outside the 32-bit range.");
        return (int)v;
    }

    /// <summary>A fixed 32-bit float.</summary>
    public float Float()
    {
        var bytes = Take(4, "a float");
        return BinaryPrimitives.ReadSingleLittleEndian(bytes);
    }

    /// <summary>A length-prefixed run of bytes (a bytes field, a string, a packed list or an embedded message).</summary>
    public ReadOnlySpan<byte> Bytes()
    {
        long at = Offset;
        ulong length = Varint();
        int remaining = data.Length - position;
        if (length > (ulong)remaining)
            throw new OnnxFormatException($"a field at byte {at} claims {length} bytes but only {remaining} remain in its message; the file is truncated or corrupt.");
        return Take((int)length, "bytes");
    }

    /// <summary>A UTF-8 string field.</summary>
    public string String()
    {
        long at = Offset;
        var bytes = Bytes();
        try { return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes); }
        catch (DecoderFallbackException) { throw new OnnxFormatException($"the string at byte {at} is not valid UTF-8."); }
    }

    /// <summary>A reader over the embedded message that follows, one level deeper.</summary>
    public ProtoReader Nested(string what)
    {
        if (depth + 1 > MaxDepth)
            throw new OnnxFormatException($"{what} at byte {Offset} is nested more than {MaxDepth} messages deep; the file is hostile or corrupt.");
        var bytes = Bytes();
        return new ProtoReader(bytes, Offset - bytes.Length, depth + 1);
    }

    /// <summary>Skips a field this reader does not use.</summary>
    public void Skip(WireType type)
    {
        switch (type)
        {
            case WireType.Varint: Varint(); break;
            case WireType.Fixed64: Take(8, "a 64-bit value"); break;
            case WireType.Fixed32: Take(4, "a 32-bit value"); break;
            default: Bytes(); break;
        }
    }

    /// <summary>
    /// A repeated int64 field, packed (one length-prefixed run of varints) or not (one value per tag), added to
    /// <paramref name="into"/>.
    /// </summary>
    public void Int64s(WireType type, List<long> into)
    {
        if (type == WireType.Varint) { into.Add(Int64()); return; }
        Expect(type, WireType.Length, "a list of integers");
        var bytes = Bytes();
        var packed = new ProtoReader(bytes, Offset - bytes.Length, depth);
        while (packed.position < packed.data.Length) into.Add(packed.Int64());
    }

    /// <summary>A repeated float field, packed or not, added to <paramref name="into"/>.</summary>
    public void Floats(WireType type, List<float> into)
    {
        if (type == WireType.Fixed32) { into.Add(Float()); return; }
        Expect(type, WireType.Length, "a list of floats");
        long at = Offset;
        var bytes = Bytes();
        if (bytes.Length % 4 != 0)
            throw new OnnxFormatException($"the packed floats at byte {at} take {bytes.Length} bytes, not a multiple of 4.");
        for (int i = 0; i < bytes.Length; i += 4) into.Add(BinaryPrimitives.ReadSingleLittleEndian(bytes[i..]));
    }

    /// <summary>Refuses a field whose wire type is not the one its schema gives.</summary>
    public readonly void Expect(WireType actual, WireType expected, string what)
    {
        if (actual != expected)
            throw new OnnxFormatException($"{what} at byte {Offset} has wire type {(int)actual} but should have {(int)expected}; the file is corrupt or not ONNX.");
    }

    private ReadOnlySpan<byte> Take(int count, string what)
    {
        if (count > data.Length - position)
            throw new OnnxFormatException($"the file ends inside {what} at byte {Offset}; it is truncated.");
        var span = data.Slice(position, count);
        position += count;
        return span;
    }
}
