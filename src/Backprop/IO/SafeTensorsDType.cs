using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Backprop.IO;

/// <summary>
/// The element types of a safetensors file that Backprop reads and writes, named as the format's header names them
/// (<c>"F32"</c>, <c>"I64"</c>, <c>"BOOL"</c>, ...). Backprop computes in float32: other types are converted on the
/// way in and out (see <see cref="SafeTensorsEntry.ToTensor"/> and <see cref="SafeTensors.Write"/>).
/// </summary>
public enum SafeTensorsDType
{
    /// <summary>IEEE float32, Backprop's own type.</summary>
    F32,
    /// <summary>IEEE float64: rounded to the nearest float32 on reading.</summary>
    F64,
    /// <summary>IEEE float16: every value is a float32 value, so reading is exact.</summary>
    F16,
    /// <summary>bfloat16 (the top 16 bits of a float32): reading is exact.</summary>
    BF16,
    /// <summary>64-bit signed integer (PyTorch's <c>num_batches_tracked</c>, token ids).</summary>
    I64,
    /// <summary>32-bit signed integer.</summary>
    I32,
    /// <summary>16-bit signed integer.</summary>
    I16,
    /// <summary>8-bit signed integer.</summary>
    I8,
    /// <summary>8-bit unsigned integer.</summary>
    U8,
    /// <summary>One byte per value, 0 (false) or 1 (true).</summary>
    Bool,
}

/// <summary>Names, sizes and the conversions to and from float32 of each <see cref="SafeTensorsDType"/>.</summary>
internal static class SafeTensorsDTypes
{
    /// <summary>The header's name of <paramref name="dtype"/>: <c>F32</c>, <c>BOOL</c>, ...</summary>
    public static string Name(SafeTensorsDType dtype) => dtype == SafeTensorsDType.Bool ? "BOOL" : dtype.ToString();

    /// <summary>The dtype the header calls <paramref name="name"/>, or null for one Backprop does not read.</summary>
    public static SafeTensorsDType? Parse(string name) =>
        Enum.GetValues<SafeTensorsDType>().Select(d => (SafeTensorsDType?)d).FirstOrDefault(d => Name(d!.Value) == name);

    /// <summary>Every name <see cref="Parse"/> accepts, for error messages.</summary>
    public static string Supported => string.Join(", ", Enum.GetValues<SafeTensorsDType>().Select(Name));

    /// <summary>Bytes per element.</summary>
    public static int Size(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.F64 or SafeTensorsDType.I64 => 8,
        SafeTensorsDType.F32 or SafeTensorsDType.I32 => 4,
        SafeTensorsDType.F16 or SafeTensorsDType.BF16 or SafeTensorsDType.I16 => 2,
        _ => 1,
    };

    /// <summary>Whether the dtype holds whole numbers (integers and booleans).</summary>
    public static bool IsInteger(SafeTensorsDType dtype) => dtype is not (SafeTensorsDType.F32 or SafeTensorsDType.F64 or SafeTensorsDType.F16 or SafeTensorsDType.BF16);

    /// <summary>
    /// Decodes <paramref name="bytes"/> (little-endian elements of <paramref name="dtype"/>) into float32
    /// <paramref name="values"/>. Returns null on success, or the index and value of the first element float32
    /// cannot hold: an integer above 2²⁴ in magnitude that is not a float32 value (unless
    /// <paramref name="roundIntegers"/>), a finite float64 beyond float32's range, or a BOOL byte other than 0 or 1.
    /// </summary>
    public static (int Index, string Value)? Decode(SafeTensorsDType dtype, ReadOnlySpan<byte> bytes, Span<float> values, bool roundIntegers)
    {
        if (dtype == SafeTensorsDType.F32 && BitConverter.IsLittleEndian)
        {
            MemoryMarshal.Cast<byte, float>(bytes[..(4 * values.Length)]).CopyTo(values);
            return null;
        }
        for (int i = 0; i < values.Length; i++)
        {
            switch (dtype)
            {
                case SafeTensorsDType.F32:
                    values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
                    break;
                case SafeTensorsDType.F64:
                    double d = BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]);
                    values[i] = (float)d;
                    if (double.IsFinite(d) && !float.IsFinite(values[i])) return (i, d.ToString("R", CultureInfo.InvariantCulture));
                    break;
                case SafeTensorsDType.F16:
                    values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(2 * i)..]);
                    break;
                case SafeTensorsDType.BF16:
                    values[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]) << 16);
                    break;
                case SafeTensorsDType.Bool:
                    byte b = bytes[i];
                    if (b > 1) return (i, $"byte {b}");
                    values[i] = b;
                    break;
                default:
                    long v = dtype switch
                    {
                        SafeTensorsDType.I64 => BinaryPrimitives.ReadInt64LittleEndian(bytes[(8 * i)..]),
                        SafeTensorsDType.I32 => BinaryPrimitives.ReadInt32LittleEndian(bytes[(4 * i)..]),
                        SafeTensorsDType.I16 => BinaryPrimitives.ReadInt16LittleEndian(bytes[(2 * i)..]),
                        SafeTensorsDType.I8 => (sbyte)bytes[i],
                        _ => bytes[i],
                    };
                    values[i] = v;
                    if (!roundIntegers && !IsExact(v, values[i])) return (i, v.ToString(CultureInfo.InvariantCulture));
                    break;
            }
        }
        return null;
    }

    // float32 holds every whole number up to 2^24 and, above, those its 24-bit significand spells; 2^63 itself is
    // the float nearest long.MaxValue but no long, so the range test comes before the cast back.
    private static bool IsExact(long v, float f)
    {
        double d = f;
        return d >= -9223372036854775808.0 && d < 9223372036854775808.0 && (long)d == v;
    }

    /// <summary>
    /// Encodes float32 <paramref name="values"/> as little-endian elements of <paramref name="dtype"/>: floats
    /// rounded to the nearest (F16, BF16) or exact (F64); integer and BOOL types take only whole numbers in their
    /// range (0 or 1 for BOOL).
    /// </summary>
    /// <exception cref="ArgumentException">A value the integer type cannot hold; the message names the tensor, the
    /// index and the value.</exception>
    public static byte[] Encode(SafeTensorsDType dtype, ReadOnlySpan<float> values, string name)
    {
        int size = Size(dtype);
        var bytes = new byte[values.Length * size];
        var span = bytes.AsSpan();
        for (int i = 0; i < values.Length; i++)
        {
            float x = values[i];
            var at = span[(i * size)..];
            switch (dtype)
            {
                case SafeTensorsDType.F32: BinaryPrimitives.WriteSingleLittleEndian(at, x); break;
                case SafeTensorsDType.F64: BinaryPrimitives.WriteDoubleLittleEndian(at, x); break;
                case SafeTensorsDType.F16: BinaryPrimitives.WriteHalfLittleEndian(at, (Half)x); break;
                case SafeTensorsDType.BF16: BinaryPrimitives.WriteUInt16LittleEndian(at, ToBFloat16(x)); break;
                default:
                    var (min, end) = Range(dtype);
                    if (!(x == MathF.Round(x) && x >= min && x < end))
                        throw new ArgumentException($"cannot store tensor '{name}' as {Name(dtype)}: element {i} is {x.ToString("R", CultureInfo.InvariantCulture)}, not a whole number in [{min.ToString(CultureInfo.InvariantCulture)}, {end.ToString(CultureInfo.InvariantCulture)}).");
                    long v = (long)x;
                    switch (dtype)
                    {
                        case SafeTensorsDType.I64: BinaryPrimitives.WriteInt64LittleEndian(at, v); break;
                        case SafeTensorsDType.I32: BinaryPrimitives.WriteInt32LittleEndian(at, (int)v); break;
                        case SafeTensorsDType.I16: BinaryPrimitives.WriteInt16LittleEndian(at, (short)v); break;
                        default: at[0] = (byte)v; break;
                    }
                    break;
            }
        }
        return bytes;
    }

    // The half-open range [min, end) of whole numbers the type holds, e.g. [-2^63, 2^63) for I64.
    private static (double Min, double End) Range(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.I64 => (-9223372036854775808.0, 9223372036854775808.0),
        SafeTensorsDType.I32 => (int.MinValue, 2147483648.0),
        SafeTensorsDType.I16 => (short.MinValue, 32768),
        SafeTensorsDType.I8 => (sbyte.MinValue, 128),
        SafeTensorsDType.U8 => (0, 256),
        _ => (0, 2),
    };

    // Round to nearest, ties to even, on the 16 bits dropped; NaN stays a (quiet) NaN rather than rounding to ±Inf.
    private static ushort ToBFloat16(float x)
    {
        uint bits = BitConverter.SingleToUInt32Bits(x);
        if (float.IsNaN(x)) return (ushort)((bits >> 16) | 0x40);
        bits += 0x7FFF + ((bits >> 16) & 1);
        return (ushort)(bits >> 16);
    }
}
