using Backprop.Nn;
using Backprop.Onnx.Proto;
using Backprop.Onnx.Protobuf;

namespace Backprop.Onnx.Tests;

/// <summary>The wire format against protobuf's documented encodings, and the structural check against broken graphs.</summary>
public sealed class ProtobufTests
{
    [Fact]
    public void VarintsAndTagsFollowTheProtobufEncoding()
    {
        var w = new ProtoWriter();
        w.Int(1, 150);            // the protobuf guide's example: 08 96 01
        w.Int(2, -1);             // a negative int64 takes ten bytes
        w.String(2, "testing");   // 12 07 74 65 73 74 69 6e 67
        w.Float(3, 1f);           // 1d 00 00 80 3f
        Assert.Equal(
            "08-96-01-10-FF-FF-FF-FF-FF-FF-FF-FF-FF-01-12-07-74-65-73-74-69-6E-67-1D-00-00-80-3F",
            BitConverter.ToString(w.Written.ToArray()));

        var r = new ProtoReader(w.Written);
        Assert.True(r.Next(out int f, out var t));
        Assert.Equal((1, WireType.Varint, 150L), (f, t, r.Int64()));
        Assert.True(r.Next(out f, out t));
        Assert.Equal((2, WireType.Varint, -1L), (f, t, r.Int64()));
        Assert.True(r.Next(out f, out t));
        Assert.Equal((2, WireType.Length, "testing"), (f, t, r.String()));
        Assert.True(r.Next(out f, out t));
        Assert.Equal((3, WireType.Fixed32, 1f), (f, t, r.Float()));
        Assert.False(r.Next(out _, out _));
    }

    [Fact]
    public void RepeatedIntegersReadPackedAndUnpacked()
    {
        var w = new ProtoWriter();
        w.PackedInts(7, [3, -1, 300]);
        w.Int(7, 5);
        var r = new ProtoReader(w.Written);
        var values = new List<long>();
        while (r.Next(out _, out var type)) r.Int64s(type, values);
        Assert.Equal([3L, -1L, 300L, 5L], values);
    }

    [Fact]
    public void StructuralCheckCatchesABrokenGraph()
    {
        var bytes = OnnxExport.ToBytes(new Sequential(new Dense(2, 3), new Relu()), null, [2]);
        OnnxStructure.Check(bytes);

        var model = OnnxDecoder.Decode(bytes);
        model.Graph.Nodes[1].Inputs[0] = "nowhere";
        var e = Assert.ThrowsAny<Exception>(() => OnnxStructure.Check(OnnxEncoder.Encode(model)));
        Assert.Contains("node '/1/Relu' reads 'nowhere', which nothing before it produces", e.Message);

        model = OnnxDecoder.Decode(bytes);
        model.Graph.Initializers[0].Dims = [2, 4];   // 6 values stored under dims that say 8
        Assert.Equal("tensor '0.weight' should hold 8 values (32 bytes) but its raw data has 24 bytes.",
            Assert.Throws<OnnxFormatException>(() => OnnxDecoder.Decode(OnnxEncoder.Encode(model))).Message);
    }
}
