using System.Buffers.Binary;
using Backprop.Onnx.Protobuf;

namespace Backprop.Onnx.Proto;

/// <summary>
/// Reads <see cref="OnnxModel"/> from protobuf bytes with onnx.proto's field numbers, skipping fields Backprop does
/// not use. Every tensor's values are checked against its dims before anything is allocated for it, so the memory a
/// file can make the reader take is bounded by the file's own size.
/// </summary>
internal static class OnnxDecoder
{
    public static OnnxModel Decode(ReadOnlySpan<byte> bytes)
    {
        var r = new ProtoReader(bytes);
        var model = new OnnxModel();
        bool hasGraph = false;
        while (r.Next(out int field, out var type))
        {
            switch (field)
            {
                case 1: r.Expect(type, WireType.Varint, "ModelProto.ir_version"); model.IrVersion = r.Int64(); break;
                case 2: r.Expect(type, WireType.Length, "ModelProto.producer_name"); model.ProducerName = r.String(); break;
                case 3: r.Expect(type, WireType.Length, "ModelProto.producer_version"); model.ProducerVersion = r.String(); break;
                case 7:
                    r.Expect(type, WireType.Length, "ModelProto.graph");
                    var g = r.Nested("the graph");
                    model.Graph = Graph(ref g);
                    hasGraph = true;
                    break;
                case 8:
                    r.Expect(type, WireType.Length, "ModelProto.opset_import");
                    var o = r.Nested("an opset import");
                    model.Opsets.Add(Opset(ref o));
                    break;
                case 14:
                    r.Expect(type, WireType.Length, "ModelProto.metadata_props");
                    var e = r.Nested("a metadata entry");
                    var (key, value) = Entry(ref e);
                    model.Metadata[key] = value;
                    break;
                default: r.Skip(type); break;
            }
        }
        if (!hasGraph) throw new OnnxFormatException("it has no graph; it is not an ONNX model (or it is empty).");
        return model;
    }

    private static OnnxOpset Opset(ref ProtoReader r)
    {
        string domain = "";
        long version = 0;
        while (r.Next(out int field, out var type))
        {
            if (field == 1 && type == WireType.Length) domain = r.String();
            else if (field == 2 && type == WireType.Varint) version = r.Int64();
            else r.Skip(type);
        }
        return new OnnxOpset(domain, version);
    }

    private static (string, string) Entry(ref ProtoReader r)
    {
        string key = "", value = "";
        while (r.Next(out int field, out var type))
        {
            if (field == 1 && type == WireType.Length) key = r.String();
            else if (field == 2 && type == WireType.Length) value = r.String();
            else r.Skip(type);
        }
        return (key, value);
    }

    private static OnnxGraph Graph(ref ProtoReader r)
    {
        var graph = new OnnxGraph();
        while (r.Next(out int field, out var type))
        {
            if (field is 1 or 5 or 11 or 12) r.Expect(type, WireType.Length, $"GraphProto field {field}");
            switch (field)
            {
                case 1: { var n = r.Nested("a node"); graph.Nodes.Add(Node(ref n)); break; }
                case 2 when type == WireType.Length: graph.Name = r.String(); break;
                case 5: { var t = r.Nested("an initializer"); graph.Initializers.Add(Tensor(ref t)); break; }
                case 11: { var v = r.Nested("a graph input"); graph.Inputs.Add(ValueInfo(ref v)); break; }
                case 12: { var v = r.Nested("a graph output"); graph.Outputs.Add(ValueInfo(ref v)); break; }
                default: r.Skip(type); break;
            }
        }
        return graph;
    }

    private static OnnxNode Node(ref ProtoReader r)
    {
        var node = new OnnxNode();
        while (r.Next(out int field, out var type))
        {
            if (field is 1 or 2 or 3 or 4 or 5 or 7) r.Expect(type, WireType.Length, $"NodeProto field {field}");
            switch (field)
            {
                case 1: node.Inputs.Add(r.String()); break;
                case 2: node.Outputs.Add(r.String()); break;
                case 3: node.Name = r.String(); break;
                case 4: node.OpType = r.String(); break;
                case 5: { var a = r.Nested("an attribute"); node.Attributes.Add(Attribute(ref a)); break; }
                case 7: node.Domain = r.String(); break;
                default: r.Skip(type); break;
            }
        }
        return node;
    }

    private static OnnxAttribute Attribute(ref ProtoReader r)
    {
        var a = new OnnxAttribute();
        while (r.Next(out int field, out var type))
        {
            switch (field)
            {
                case 1: r.Expect(type, WireType.Length, "AttributeProto.name"); a.Name = r.String(); break;
                case 2: r.Expect(type, WireType.Fixed32, "AttributeProto.f"); a.F = r.Float(); break;
                case 3: r.Expect(type, WireType.Varint, "AttributeProto.i"); a.I = r.Int64(); break;
                case 4: r.Expect(type, WireType.Length, "AttributeProto.s"); a.S = r.String(); break;
                case 5: { r.Expect(type, WireType.Length, "AttributeProto.t"); var t = r.Nested("an attribute's tensor"); a.T = Tensor(ref t); break; }
                case 6: { r.Expect(type, WireType.Length, "AttributeProto.g"); var g = r.Nested("a subgraph"); a.G = Graph(ref g); break; }
                case 7: r.Floats(type, a.Floats); break;
                case 8: r.Int64s(type, a.Ints); break;
                case 20: r.Expect(type, WireType.Varint, "AttributeProto.type"); a.Type = (OnnxAttributeType)r.Int32("an attribute type"); break;
                default: r.Skip(type); break;
            }
        }
        return a;
    }

    private static OnnxValueInfo ValueInfo(ref ProtoReader r)
    {
        var v = new OnnxValueInfo();
        while (r.Next(out int field, out var type))
        {
            if (field == 1 && type == WireType.Length) v.Name = r.String();
            else if (field == 2 && type == WireType.Length)
            {
                var tp = r.Nested("a value's type");                 // TypeProto
                while (tp.Next(out int tf, out var tt))
                {
                    if (tf != 1 || tt != WireType.Length) { tp.Skip(tt); continue; }
                    var tensor = tp.Nested("a tensor type");         // TypeProto.Tensor
                    while (tensor.Next(out int f, out var t))
                    {
                        if (f == 1 && t == WireType.Varint) v.ElemType = tensor.Int32("an element type");
                        else if (f == 2 && t == WireType.Length)
                        {
                            var shape = tensor.Nested("a shape");    // TensorShapeProto
                            v.Shape = [];
                            while (shape.Next(out int sf, out var st))
                            {
                                if (sf != 1 || st != WireType.Length) { shape.Skip(st); continue; }
                                var dim = shape.Nested("a dimension");
                                v.Shape.Add(Dim(ref dim));
                            }
                        }
                        else tensor.Skip(t);
                    }
                }
            }
            else r.Skip(type);
        }
        return v;
    }

    private static OnnxDim Dim(ref ProtoReader r)
    {
        long? value = null;
        string? param = null;
        while (r.Next(out int field, out var type))
        {
            if (field == 1 && type == WireType.Varint) value = r.Int64();
            else if (field == 2 && type == WireType.Length) param = r.String();
            else r.Skip(type);
        }
        return new OnnxDim(value, param);
    }

    private static OnnxTensor Tensor(ref ProtoReader r)
    {
        var t = new OnnxTensor();
        var dims = new List<long>();
        var floats = new List<float>();
        var ints = new List<long>();
        var doubles = new List<double>();
        ReadOnlySpan<byte> raw = default;
        bool hasRaw = false, external = false;
        long start = r.Offset;
        while (r.Next(out int field, out var type))
        {
            switch (field)
            {
                case 1: r.Int64s(type, dims); break;
                case 2: r.Expect(type, WireType.Varint, "TensorProto.data_type"); t.DataType = r.Int32("a data type"); break;
                case 4: r.Floats(type, floats); break;
                case 5: r.Int64s(type, ints); break;                    // int32_data, varints like int64
                case 7: r.Int64s(type, ints); break;                    // int64_data
                case 8: r.Expect(type, WireType.Length, "TensorProto.name"); t.Name = r.String(); break;
                case 9: r.Expect(type, WireType.Length, "TensorProto.raw_data"); raw = r.Bytes(); hasRaw = true; break;
                case 10: Doubles(ref r, type, doubles); break;
                case 14: r.Expect(type, WireType.Varint, "TensorProto.data_location"); external = r.Int64() == 1; break;
                default: r.Skip(type); break;
            }
        }
        string name = t.Name.Length > 0 ? $"tensor '{t.Name}'" : $"the tensor at byte {start}";
        if (external)
            throw new OnnxFormatException($"{name} keeps its values in an external file, which Backprop does not read; save the model with its weights inside.");
        long count = 1;
        foreach (var d in dims)
        {
            if (d < 0) throw new OnnxFormatException($"{name} has a negative dimension {d}.");
            count = d == 0 ? 0 : count > int.MaxValue / d ? long.MaxValue : count * d;
        }
        if (count > int.MaxValue)
            throw new OnnxFormatException($"{name} has dims [{string.Join(", ", dims)}], more values than Backprop can hold in one tensor.");
        t.Dims = [.. dims];
        int n = (int)count;
        switch ((OnnxDataType)t.DataType)
        {
            case OnnxDataType.Float:
                t.Floats = hasRaw ? FromRaw(raw, n, 4, name, (b, i) => BinaryPrimitives.ReadSingleLittleEndian(b[(4 * i)..]))
                    : Counted(floats, n, name);
                break;
            case OnnxDataType.Double:
                var d = hasRaw ? FromRaw(raw, n, 8, name, (b, i) => BinaryPrimitives.ReadDoubleLittleEndian(b[(8 * i)..])) : Counted(doubles, n, name);
                t.Floats = [.. d.Select(x => (float)x)];
                break;
            case OnnxDataType.Int64:
                t.Int64s = hasRaw ? FromRaw(raw, n, 8, name, (b, i) => BinaryPrimitives.ReadInt64LittleEndian(b[(8 * i)..])) : Counted(ints, n, name);
                break;
            case OnnxDataType.Int32:
                t.Int64s = hasRaw ? FromRaw(raw, n, 4, name, (b, i) => (long)BinaryPrimitives.ReadInt32LittleEndian(b[(4 * i)..])) : Counted(ints, n, name);
                break;
        }
        return t;
    }

    private delegate T Element<T>(ReadOnlySpan<byte> bytes, int index);

    private static T[] FromRaw<T>(ReadOnlySpan<byte> raw, int count, int width, string name, Element<T> read)
    {
        if (raw.Length != (long)count * width)
            throw new OnnxFormatException($"{name} should hold {count} values ({(long)count * width} bytes) but its raw data has {raw.Length} bytes.");
        var values = new T[count];
        for (int i = 0; i < count; i++) values[i] = read(raw, i);
        return values;
    }

    private static T[] Counted<T>(List<T> values, int count, string name) =>
        values.Count == count ? [.. values]
            : throw new OnnxFormatException($"{name} should hold {count} values but has {values.Count}.");

    private static void Doubles(ref ProtoReader r, WireType type, List<double> into)
    {
        if (type == WireType.Fixed64)
            throw new OnnxFormatException($"an unpacked double at byte {r.Offset}: Backprop reads doubles packed or as raw data.");
        r.Expect(type, WireType.Length, "TensorProto.double_data");
        var bytes = r.Bytes();
        if (bytes.Length % 8 != 0) throw new OnnxFormatException($"the packed doubles before byte {r.Offset} take {bytes.Length} bytes, not a multiple of 8.");
        for (int i = 0; i < bytes.Length; i += 8) into.Add(BinaryPrimitives.ReadDoubleLittleEndian(bytes[i..]));
    }
}
