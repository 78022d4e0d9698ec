namespace Backprop.Onnx.Proto;

// The part of onnx.proto that Backprop writes and reads, as plain objects. Field numbers live in OnnxEncoder and
// OnnxDecoder; everything else in a file (training info, functions, sparse tensors, docs) is skipped when read.

/// <summary>ModelProto: the IR version, the operator sets imported, the producer, the graph and metadata.</summary>
internal sealed class OnnxModel
{
    public long IrVersion { get; set; }
    public List<OnnxOpset> Opsets { get; } = [];
    public string ProducerName { get; set; } = "";
    public string ProducerVersion { get; set; } = "";
    public OnnxGraph Graph { get; set; } = new();
    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);
}

/// <summary>OperatorSetIdProto: a domain ("" is the default ai.onnx) and its version.</summary>
internal sealed record OnnxOpset(string Domain, long Version);

/// <summary>GraphProto: nodes in topological order, initializers (the weights), inputs and outputs.</summary>
internal sealed class OnnxGraph
{
    public string Name { get; set; } = "";
    public List<OnnxNode> Nodes { get; } = [];
    public List<OnnxTensor> Initializers { get; } = [];
    public List<OnnxValueInfo> Inputs { get; } = [];
    public List<OnnxValueInfo> Outputs { get; } = [];
}

/// <summary>NodeProto: one operator call, with the names of the values it reads and writes.</summary>
internal sealed class OnnxNode
{
    public string Name { get; set; } = "";
    public string OpType { get; set; } = "";
    public string Domain { get; set; } = "";
    public List<string> Inputs { get; } = [];
    public List<string> Outputs { get; } = [];
    public List<OnnxAttribute> Attributes { get; } = [];

    /// <summary>The attribute named <paramref name="name"/>, or null.</summary>
    public OnnxAttribute? Attribute(string name) => Attributes.FirstOrDefault(a => a.Name == name);
}

/// <summary>AttributeProto's types (the discriminator field).</summary>
internal enum OnnxAttributeType
{
    Undefined = 0, Float = 1, Int = 2, String = 3, Tensor = 4, Graph = 5, Floats = 6, Ints = 7, Strings = 8,
    Tensors = 9, Graphs = 10, SparseTensor = 11, SparseTensors = 12, TypeProto = 13, TypeProtos = 14,
}

/// <summary>AttributeProto: a named constant argument of a node.</summary>
internal sealed class OnnxAttribute
{
    public string Name { get; set; } = "";
    public OnnxAttributeType Type { get; set; }
    public float F { get; set; }
    public long I { get; set; }
    public string S { get; set; } = "";
    public OnnxTensor? T { get; set; }
    public OnnxGraph? G { get; set; }
    public List<float> Floats { get; } = [];
    public List<long> Ints { get; } = [];

    public static OnnxAttribute Of(string name, long value) => new() { Name = name, Type = OnnxAttributeType.Int, I = value };
    public static OnnxAttribute Of(string name, float value) => new() { Name = name, Type = OnnxAttributeType.Float, F = value };
    public static OnnxAttribute Of(string name, string value) => new() { Name = name, Type = OnnxAttributeType.String, S = value };
    public static OnnxAttribute Of(string name, params long[] values)
    {
        var a = new OnnxAttribute { Name = name, Type = OnnxAttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }
}

/// <summary>TensorProto's element types that Backprop reads (others are named in errors by number).</summary>
internal enum OnnxDataType
{
    Float = 1, Int32 = 6, Int64 = 7, Double = 11,
}

/// <summary>
/// TensorProto: dims and values. Float tensors keep <see cref="Floats"/>, integer ones <see cref="Int64s"/>; a type
/// Backprop cannot use keeps neither and is refused where it is used.
/// </summary>
internal sealed class OnnxTensor
{
    public string Name { get; set; } = "";
    public long[] Dims { get; set; } = [];
    public int DataType { get; set; }
    public float[]? Floats { get; set; }
    public long[]? Int64s { get; set; }

    /// <summary>The number of values the dims describe.</summary>
    public long ElementCount => Dims.Aggregate(1L, (a, d) => a * d);
}

/// <summary>ValueInfoProto: a graph input or output with its element type and shape (a dim is a size or a name).</summary>
internal sealed class OnnxValueInfo
{
    public string Name { get; set; } = "";
    public int ElemType { get; set; }

    /// <summary>Null when the shape is not given; each dim is a size, a symbolic name (<c>batch</c>), or neither.</summary>
    public List<OnnxDim>? Shape { get; set; }
}

/// <summary>TensorShapeProto.Dimension: dim_value or dim_param.</summary>
internal sealed record OnnxDim(long? Value, string? Param);
