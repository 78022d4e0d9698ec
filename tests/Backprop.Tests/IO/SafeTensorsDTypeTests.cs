using System.Buffers.Binary;
using System.Text;
using Backprop.IO;
using Backprop.Tests.Golden;

namespace Backprop.Tests.IO;

/// <summary>
/// safetensors files with the dtypes PyTorch writes: decoded to float32 exactly where float32 holds the value (F16,
/// BF16, integers), rounded for F64, refused with the tensor's name where it cannot; written back in any of them.
/// </summary>
public sealed class SafeTensorsDTypeTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-dtypes-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string PathOf(string name) => Path.Combine(dir, name);

    /// <summary>A one-tensor safetensors file by hand: the 8-byte length, the header padded to 8 bytes, the data.</summary>
    private string HandMade(string dtype, int[] shape, byte[] data, string name = "t")
    {
        var header = $"{{\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[0,{data.Length}]}}}}";
        var json = Encoding.UTF8.GetBytes(header);
        int padded = (json.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        json.CopyTo(bytes, 8);
        for (int i = json.Length; i < padded; i++) bytes[8 + i] = (byte)' ';
        data.CopyTo(bytes, 8 + padded);
        var path = PathOf($"{dtype}.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Int64s(params long[] values)
    {
        var b = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8 * i), values[i]);
        return b;
    }

    [Fact]
    public void EveryDtypePyTorchWroteDecodesToTheValuesItHeld()
    {
        var (entries, metadata) = SafeTensors.ReadEntries(TorchWeightsReference.DtypesFile);
        Assert.Equal("pt", metadata["format"]);
        Assert.Equal(10, entries.Count);
        foreach (var (name, expected) in TorchWeightsReference.DtypeTensors)
        {
            var entry = entries[name];
            Assert.Equal(expected.Dtype, entry.DType == SafeTensorsDType.Bool ? "BOOL" : entry.DType.ToString());
            Assert.Equal(expected.Shape, entry.Shape);
            // F64 is rounded to float32; every other dtype's values are float32 values, so equality is exact.
            Assert.Equal(expected.Values.Select(v => (float)v), entry.ToTensor().AsSpan().ToArray());
        }
        Assert.Equal(SafeTensors.Read(TorchWeightsReference.DtypesFile).Tensors["bf16"].AsSpan().ToArray(), entries["bf16"].ToTensor().AsSpan().ToArray());
        Assert.Equal(-65504f, entries["f16"].ToTensor().AsSpan()[1]);
        Assert.Equal(16777216f, entries["i64"].ToTensor().AsSpan()[2]);
        Assert.Equal([1f, 0f, 1f], entries["bool"].ToTensor().AsSpan().ToArray());
    }

    [Fact]
    public void AnIntegerFloat32CannotHoldIsRefusedNamingTheTensorUnlessRoundingIsAsked()
    {
        var path = HandMade("I64", [3], Int64s(5, 16777217, 1L << 40), "layer.num_batches_tracked");
        var e = Assert.Throws<ModelFormatException>(() => SafeTensors.Read(path));
        Assert.Equal($"{path}: tensor 'layer.num_batches_tracked' (I64 [3]) holds 16777217 at index 1, a whole number float32 cannot hold exactly " +
            "(it holds every whole number up to 2^24 = 16777216); Backprop computes in float32.", e.Message);
        var (entries, _) = SafeTensors.ReadEntries(path);
        Assert.Equal([5f, 16777216f, 1099511627776f], entries["layer.num_batches_tracked"].ToTensor(roundIntegers: true).AsSpan().ToArray());
    }

    [Fact]
    public void AWholeNumberOnFloat32sGridAbove2To24IsExact()
    {
        var path = HandMade("I64", [2], Int64s(1L << 40, -(1L << 62)));
        Assert.Equal([1099511627776f, -(float)(1L << 62)], SafeTensors.Read(path).Tensors["t"].AsSpan().ToArray());
    }

    [Fact]
    public void AnF64BeyondFloat32sRangeAndABoolByteOtherThan0Or1AreRefused()
    {
        var f64 = new byte[16];
        BinaryPrimitives.WriteDoubleLittleEndian(f64, 0.1);
        BinaryPrimitives.WriteDoubleLittleEndian(f64.AsSpan(8), 1e39);
        var path = HandMade("F64", [2], f64);
        Assert.Equal($"{path}: tensor 't' (F64 [2]) holds 1E+39 at index 1, beyond float32's range (±3.4e38); Backprop computes in float32.",
            Assert.Throws<ModelFormatException>(() => SafeTensors.Read(path)).Message);

        var boolPath = HandMade("BOOL", [3], [1, 0, 2]);
        Assert.Equal($"{boolPath}: tensor 't' (BOOL [3]) holds byte 2 at index 2, not 0 or 1; Backprop computes in float32.",
            Assert.Throws<ModelFormatException>(() => SafeTensors.Read(boolPath)).Message);
    }

    [Fact]
    public void AnUnknownDtypeOrAByteCountThatDoesNotFitItsDtypeIsRefused()
    {
        var path = HandMade("F8_E4M3", [2], [1, 2]);
        Assert.Equal($"{path}: tensor 't' has dtype F8_E4M3, which Backprop does not read; it reads F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL.",
            Assert.Throws<ModelFormatException>(() => SafeTensors.Read(path)).Message);

        var shortI64 = HandMade("I64", [2], new byte[12]);
        Assert.Equal($"{shortI64}: tensor 't' of shape [2] needs 16 bytes but its offsets are [0, 12).",
            Assert.Throws<ModelFormatException>(() => SafeTensors.Read(shortI64)).Message);
    }

    [Fact]
    public void WritingInAnyDtypeReadsBackWithItsDtypeAndAValidChecksum()
    {
        var path = PathOf("mixed.safetensors");
        var values = Tensor.FromArray([0f, -3f, 100f, 1f], 4);
        var halfway = Tensor.FromArray([1.00390625f, 1.01171875f, 0.1f, -2.5f], 4);
        SafeTensors.Write(path,
            [("f32", halfway), ("f64", halfway), ("f16", halfway), ("bf16", halfway), ("i64", values), ("i32", values), ("i16", values), ("i8", values),
             ("u8", Tensor.FromArray([0f, 255f], 2)), ("bool", Tensor.FromArray([1f, 0f], 2)), ("counter", Tensor.Scalar(7f))],
            dtypes: new Dictionary<string, SafeTensorsDType>
            {
                ["f64"] = SafeTensorsDType.F64, ["f16"] = SafeTensorsDType.F16, ["bf16"] = SafeTensorsDType.BF16, ["i64"] = SafeTensorsDType.I64,
                ["i32"] = SafeTensorsDType.I32, ["i16"] = SafeTensorsDType.I16, ["i8"] = SafeTensorsDType.I8, ["u8"] = SafeTensorsDType.U8,
                ["bool"] = SafeTensorsDType.Bool, ["counter"] = SafeTensorsDType.I64,
            });
        var (entries, _) = SafeTensors.ReadEntries(path);
        Assert.Equal(SafeTensorsDType.BF16, entries["bf16"].DType);
        Assert.Equal(SafeTensorsDType.I64, entries["counter"].DType);
        Assert.Equal(8, entries["counter"].Bytes.Length);
        Assert.Empty(entries["counter"].Shape);
        var read = SafeTensors.Read(path).Tensors;   // the checksum over the encoded bytes verifies
        Assert.Equal(halfway.AsSpan().ToArray(), read["f64"].AsSpan().ToArray());
        Assert.Equal(halfway.AsSpan().ToArray().Select(v => (float)(Half)v), read["f16"].AsSpan().ToArray());
        // bfloat16 rounds to nearest, ties to even: 1 + 2⁻⁸ is halfway between 1 and 1 + 2⁻⁷ and goes to 1;
        // 1 + 3·2⁻⁸ is halfway between 1 + 2⁻⁷ and 1 + 2⁻⁶ and goes to 1 + 2⁻⁶; 0.1 (0x3DCCCCCD) becomes 0x3DCD.
        Assert.Equal([1f, 1.015625f, BitConverter.Int32BitsToSingle(0x3DCD0000), -2.5f], read["bf16"].AsSpan().ToArray());
        foreach (var name in new[] { "i64", "i32", "i16", "i8" }) Assert.Equal(values.AsSpan().ToArray(), read[name].AsSpan().ToArray());
        Assert.Equal([0f, 255f], read["u8"].AsSpan().ToArray());
        Assert.Equal([1f, 0f], read["bool"].AsSpan().ToArray());
        Assert.Equal(0, read["counter"].Rank);
        Assert.Equal(7f, read["counter"].AsSpan()[0]);
    }

    [Fact]
    public void WritingAValueAnIntegerDtypeCannotHoldIsRefusedNamingTheTensorAndNothingIsWritten()
    {
        var path = PathOf("bad.safetensors");
        var e = Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [("ids", Tensor.FromArray([1f, 2.5f], 2))],
            dtypes: new Dictionary<string, SafeTensorsDType> { ["ids"] = SafeTensorsDType.I64 }));
        Assert.StartsWith("cannot store tensor 'ids' as I64: element 1 is 2.5, not a whole number in [", e.Message);
        Assert.Equal("cannot store tensor 'b' as U8: element 0 is 256, not a whole number in [0, 256).",
            Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [("b", Tensor.FromArray([256f], 1))],
                dtypes: new Dictionary<string, SafeTensorsDType> { ["b"] = SafeTensorsDType.U8 })).Message);
        Assert.False(File.Exists(path));
    }
}
