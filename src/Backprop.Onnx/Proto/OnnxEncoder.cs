using Backprop.Onnx.Protobuf;

namespace Backprop.Onnx.Proto;

/// <summary>
/// Writes <see cref="OnnxModel"/> as protobuf bytes with onnx.proto's field numbers. Repeated scalars that onnx.proto
/// declares packed (int64_data) are written packed, the others (dims, ints) one value per tag, as protobuf's own
/// serializer does for a proto2 file.
/// </summary>
internal static class OnnxEncoder
{
    public static byte[] Encode(OnnxModel model)
    {
        var w = new ProtoWriter();
        w.Int(1, model.IrVersion);                                  // ir_version
        if (model.ProducerName.Length > 0) w.String(2, model.ProducerName);
        if (model.ProducerVersion.Length > 0) w.String(3, model.ProducerVersion);
        w.Message(7, Graph(model.Graph));                           // graph
        foreach (var opset in model.Opsets)                         // opset_import
        {
            var o = new ProtoWriter();
            if (opset.Domain.Length > 0) o.String(1, opset.Domain);
            o.Int(2, opset.Version);
            w.Message(8, o);
        }
        foreach (var (key, value) in model.Metadata)               // metadata_props: StringStringEntryProto
        {
            var e = new ProtoWriter();
            e.String(1, key);
            e.String(2, value);
            w.Message(14, e);
        }
        return w.Written.ToArray();
    }

    private static ProtoWriter Graph(OnnxGraph graph)
    {
        var w = new ProtoWriter();
        foreach (var node in graph.Nodes) w.Message(1, Node(node));
        w.String(2, graph.Name);
        foreach (var t in graph.Initializers) w.Message(5, Tensor(t));
        foreach (var v in graph.Inputs) w.Message(11, ValueInfo(v));
        foreach (var v in graph.Outputs) w.Message(12, ValueInfo(v));
        return w;
    }

    private static ProtoWriter Node(OnnxNode node)
    {
        var w = new ProtoWriter();
        foreach (var i in node.Inputs) w.String(1, i);
        foreach (var o in node.Outputs) w.String(2, o);
        w.String(3, node.Name);
        w.String(4, node.OpType);
        foreach (var a in node.Attributes) w.Message(5, Attribute(a));
        if (node.Domain.Length > 0) w.String(7, node.Domain);
        return w;
    }

    private static ProtoWriter Attribute(OnnxAttribute a)
    {
        var w = new ProtoWriter();
        w.String(1, a.Name);
        switch (a.Type)
        {
            case OnnxAttributeType.Float: w.Float(2, a.F); break;
            case OnnxAttributeType.Int: w.Int(3, a.I); break;
            case OnnxAttributeType.String: w.String(4, a.S); break;
            case OnnxAttributeType.Tensor: w.Message(5, Tensor(a.T!)); break;
            case OnnxAttributeType.Floats: foreach (var f in a.Floats) w.Float(7, f); break;
            case OnnxAttributeType.Ints: foreach (var i in a.Ints) w.Int(8, i); break;
            default: throw new InvalidOperationException($"attribute '{a.Name}' of type {a.Type} is not written by Backprop.");
        }
        w.Int(20, (int)a.Type);                                     // type
        return w;
    }

    private static ProtoWriter Tensor(OnnxTensor t)
    {
        var w = new ProtoWriter();
        foreach (var d in t.Dims) w.Int(1, d);                     // dims
        w.Int(2, t.DataType);                                       // data_type
        w.String(8, t.Name);                                        // name
        if (t.Floats is { } floats) w.FloatsAsBytes(9, floats);    // raw_data, little-endian float32
        else if (t.Int64s is { } ints) w.PackedInts(7, ints);     // int64_data
        return w;
    }

    private static ProtoWriter ValueInfo(OnnxValueInfo v)
    {
        var shape = new ProtoWriter();                              // TensorShapeProto
        foreach (var d in v.Shape ?? [])
        {
            var dim = new ProtoWriter();
            if (d.Value is { } size) dim.Int(1, size);              // dim_value
            else if (d.Param is { } name) dim.String(2, name);      // dim_param
            shape.Message(1, dim);
        }
        var tensor = new ProtoWriter();                             // TypeProto.Tensor
        tensor.Int(1, v.ElemType);
        if (v.Shape is not null) tensor.Message(2, shape);
        var type = new ProtoWriter();                               // TypeProto
        type.Message(1, tensor);
        var w = new ProtoWriter();
        w.String(1, v.Name);
        w.Message(2, type);
        return w;
    }
}
