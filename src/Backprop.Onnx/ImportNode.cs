using System.Globalization;
using Backprop.Onnx.Proto;

namespace Backprop.Onnx;

/// <summary>A node being imported, with the constants it may read: its attributes and constant inputs, checked.</summary>
internal sealed class ImportNode(OnnxNode node, IReadOnlyDictionary<string, OnnxTensor> constants)
{
    public OnnxNode Proto => node;

    public string Op => node.OpType;

    /// <summary>How errors name the node: <c>node '/0/Gemm' (Gemm)</c>.</summary>
    public string Describe => $"node '{(node.Name.Length > 0 ? node.Name : node.Outputs.FirstOrDefault() ?? "?")}' ({node.OpType})";

    /// <summary>An error about this node.</summary>
    public InvalidDataException Error(string problem) => new($"{Describe} {problem}");

    public long Int(string name, long fallback) => node.Attribute(name) is { } a ? a.I : fallback;

    public float Float(string name, float fallback) => node.Attribute(name) is { } a ? a.F : fallback;

    public string String(string name, string fallback) => node.Attribute(name) is { } a ? a.S : fallback;

    public long[]? Ints(string name) => node.Attribute(name) is { } a ? [.. a.Ints] : null;

    /// <summary>Whether input <paramref name="index"/> is given (ONNX marks a skipped optional input with "").</summary>
    public bool Has(int index) => index < node.Inputs.Count && node.Inputs[index].Length > 0;

    /// <summary>Input <paramref name="index"/> as a constant float tensor with the given rank (or any rank when -1).</summary>
    public OnnxTensor Floats(int index, string role, int rank = -1)
    {
        var t = Constant(index, role);
        if (t.Floats is null)
            throw Error($"reads {role} '{t.Name}' of data type {t.DataType}, but Backprop imports float weights (type 1) only.");
        if (rank >= 0 && t.Dims.Length != rank)
            throw Error($"expected {role} '{node.Inputs[index]}' of rank {rank} but it has dims [{string.Join(", ", t.Dims)}].");
        foreach (var v in t.Floats)
            if (!float.IsFinite(v))
                throw Error($"reads {role} '{node.Inputs[index]}', which holds {v.ToString(CultureInfo.InvariantCulture)}; weights must be finite.");
        return t;
    }

    /// <summary>Input <paramref name="index"/> as a constant integer vector.</summary>
    public long[] Longs(int index, string role)
    {
        var t = Constant(index, role);
        return t.Int64s is { } v && t.Dims.Length == 1 ? v
            : throw Error($"expected {role} '{node.Inputs[index]}' to be a vector of integers but it has data type {t.DataType} and dims [{string.Join(", ", t.Dims)}].");
    }

    /// <summary>A float vector input of exactly <paramref name="length"/> values (a bias, a channel statistic).</summary>
    public float[] Vector(int index, string role, int length)
    {
        var t = Floats(index, role);
        return t.Floats!.Length == length && t.Dims.Count(d => d != 1) <= 1 ? t.Floats!
            : throw Error($"expected {role} '{node.Inputs[index]}' of {length} values but it has dims [{string.Join(", ", t.Dims)}].");
    }

    private OnnxTensor Constant(int index, string role)
    {
        if (!Has(index)) throw Error($"has no {role} (input {index}).");
        var name = node.Inputs[index];
        return constants.TryGetValue(name, out var t) ? t
            : throw Error($"reads {role} '{name}', which is not a constant (an initializer or a Constant node); Backprop imports a chain of layers whose weights are constants.");
    }
}
