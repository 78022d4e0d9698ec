using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Backprop.Onnx.Protobuf;

/// <summary>
/// Writes one protobuf message: fields as (field number, wire type) tags followed by a varint, a fixed 32-bit value
/// or a length-prefixed run of bytes. A nested message is written into its own writer and then embedded as bytes.
/// </summary>
internal sealed class ProtoWriter
{
    private byte[] buffer = new byte[256];
    private int length;

    /// <summary>The bytes written so far.</summary>
    public ReadOnlySpan<byte> Written => buffer.AsSpan(0, length);

    /// <summary>A varint field (int32, int64, enum, bool); negative values take ten bytes, as protobuf encodes them.</summary>
    public void Int(int field, long value)
    {
        Tag(field, WireType.Varint);
        Varint((ulong)value);
    }

    /// <summary>A 32-bit float field.</summary>
    public void Float(int field, float value)
    {
        Tag(field, WireType.Fixed32);
        BinaryPrimitives.WriteSingleLittleEndian(Grow(4), value);
    }

    /// <summary>A string field, UTF-8 encoded.</summary>
    public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    /// <summary>A bytes field, or an embedded message already written.</summary>
    public void Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, WireType.Length);
        Varint((ulong)value.Length);
        value.CopyTo(Grow(value.Length));
    }

    /// <summary>An embedded message.</summary>
    public void Message(int field, ProtoWriter message) => Bytes(field, message.Written);

    /// <summary>Floats as one little-endian bytes field (how TensorProto.raw_data stores them).</summary>
    public void FloatsAsBytes(int field, ReadOnlySpan<float> values)
    {
        Tag(field, WireType.Length);
        Varint((ulong)values.Length * sizeof(float));
        var into = Grow(values.Length * sizeof(float));
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(values).CopyTo(into);
        else for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(into[(4 * i)..], values[i]);
    }

    /// <summary>A packed repeated int64 field: one length-prefixed run of varints.</summary>
    public void PackedInts(int field, ReadOnlySpan<long> values)
    {
        var packed = new ProtoWriter();
        foreach (var v in values) packed.Varint((ulong)v);
        Bytes(field, packed.Written);
    }

    private void Tag(int field, WireType type) => Varint(((ulong)field << 3) | (ulong)type);

    private void Varint(ulong value)
    {
        // Seven bits per byte, least significant first; the high bit says another byte follows.
        while (value >= 0x80)
        {
            Grow(1)[0] = (byte)(value | 0x80);
            value >>= 7;
        }
        Grow(1)[0] = (byte)value;
    }

    private Span<byte> Grow(int count)
    {
        if (length + count > buffer.Length)
            Array.Resize(ref buffer, Math.Max(checked(length + count), (int)Math.Min(2L * buffer.Length, Array.MaxLength)));
        var span = buffer.AsSpan(length, count);
        length += count;
        return span;
    }
}

/// <summary>The protobuf wire types ONNX files use (groups, types 3 and 4, are refused when read).</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    Length = 2,
    Fixed32 = 5,
}
