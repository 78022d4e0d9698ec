using Backprop.IO;
using Backprop.Nn;
using Backprop.Onnx.Proto;
using Backprop.Onnx.Protobuf;

namespace Backprop.Onnx.Tests;

/// <summary>
/// Truncated, corrupt and hostile files end in a <see cref="ModelFormatException"/> that says what is wrong: never an
/// index, overflow or out-of-memory exception, never a stack overflow, never an allocation beyond the file's size.
/// </summary>
public sealed class HostileFileTests
{
    private static byte[] ValidModel()
    {
        Init.ManualSeed(21);
        var model = new Sequential(new Conv2d(1, 2, 3, padding: 1), new BatchNorm2d(2), new Relu(), new MaxPool2d(2), new Flatten(), new Dense(8, 3), new Softmax());
        return OnnxExport.ToBytes(model, new ModelInfo { ClassNames = ["a", "b", "c"] }, [1, 4, 4]);
    }

    private static string Refusal(byte[] bytes) =>
        Assert.Throws<ModelFormatException>(() => OnnxImport.Read(bytes, "bad.onnx")).Message;

    [Fact]
    public void EveryTruncationIsRefusedOrStillAWholeModel()
    {
        var bytes = ValidModel();
        int refused = 0;
        for (int n = 0; n < bytes.Length; n++)
        {
            try { OnnxImport.Read(bytes.AsSpan(0, n)); }
            catch (ModelFormatException) { refused++; }
        }
        // The file ends with the opset import and the metadata: cutting just before the metadata leaves a valid model.
        Assert.True(refused >= bytes.Length - 2, $"{bytes.Length - refused} of {bytes.Length} truncations were accepted");
        Assert.Equal("bad.onnx: it has no graph; it is not an ONNX model (or it is empty).", Refusal([]));
    }

    [Fact]
    public void RandomCorruptionIsRefusedCleanly()
    {
        var valid = ValidModel();
        var rng = new Random(7);
        int refused = 0;
        for (int trial = 0; trial < 2000; trial++)
        {
            var bytes = (byte[])valid.Clone();
            for (int k = rng.Next(1, 4); k > 0; k--) bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
            try { OnnxImport.Read(bytes); }
            catch (ModelFormatException) { refused++; }
        }
        Assert.InRange(refused, 100, 2000);   // many flips only change a weight's value, which is a valid model
    }

    [Fact]
    public void LengthPastTheEndIsTruncation()
    {
        // ModelProto.graph (field 7, length-delimited) claiming 1000 bytes, followed by 3.
        Assert.Equal("bad.onnx: a field at byte 1 claims 1000 bytes but only 3 remain in its message; the file is truncated or corrupt.",
            Refusal([0x3A, 0xE8, 0x07, 1, 2, 3]));
        // An absurd length (2⁶²) is refused before anything is allocated for it.
        Assert.Equal("bad.onnx: a field at byte 1 claims 4611686018427387904 bytes but only 0 remain in its message; the file is truncated or corrupt.",
            Refusal([0x3A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]));
    }

    [Fact]
    public void MalformedNumbersAndWireTypesAreNamed()
    {
        Assert.Equal("bad.onnx: a number longer than ten bytes ends at byte 11; the file is corrupt.",
            Refusal([0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]));
        Assert.Equal("bad.onnx: the file ends inside a number at byte 1; it is truncated.", Refusal([0x08]));
        Assert.Equal("bad.onnx: wire type 3 at byte 0 (ONNX uses 0, 1, 2 and 5); the file is corrupt or not ONNX.", Refusal([0x0B]));
        Assert.Equal("bad.onnx: a field number of 0 at byte 0 (protobuf numbers fields 1 to 536870911); the file is corrupt or not ONNX.", Refusal([0x00, 0x00]));
        Assert.Equal("bad.onnx: ModelProto.graph at byte 1 has wire type 0 but should have 2; the file is corrupt or not ONNX.", Refusal([0x38, 0x01]));
        Assert.StartsWith("bad.onnx: ", Refusal("hello, this is a text file\n"u8.ToArray()));
    }

    [Fact]
    public void DeepNestingIsRefusedWithoutRecursingIntoIt()
    {
        // A node whose attribute holds a graph whose node holds an attribute holding a graph ..., 1000 levels deep.
        var inner = new ProtoWriter();
        inner.String(4, "Relu");
        for (int level = 0; level < 1000; level++)
        {
            var attribute = new ProtoWriter();
            attribute.String(1, "then_branch");
            var graph = new ProtoWriter();
            graph.Message(1, inner);                  // GraphProto.node
            attribute.Message(6, graph);              // AttributeProto.g
            var node = new ProtoWriter();
            node.String(4, "If");
            node.Message(5, attribute);               // NodeProto.attribute
            inner = node;
        }
        var top = new ProtoWriter();
        top.Message(1, inner);
        var model = new ProtoWriter();
        model.Int(1, 8);
        model.Message(7, top);
        var message = Refusal(model.Written.ToArray());
        Assert.Matches(@"^bad\.onnx: (a node|a subgraph|an attribute) at byte \d+ is nested more than 64 messages deep; the file is hostile or corrupt\.$", message);
    }

    [Fact]
    public void TensorsMustHoldWhatTheirDimsSay()
    {
        Assert.Equal("bad.onnx: tensor 'w' should hold 1000000 values (4000000 bytes) but its raw data has 4 bytes.",
            Refusal(WithInitializer(new OnnxTensor { Name = "w", Dims = [1000, 1000], DataType = 1, Floats = [1f] })));
        Assert.Equal("bad.onnx: tensor 'w' has dims [100000, 100000, 100000], more values than Backprop can hold in one tensor.",
            Refusal(WithInitializer(new OnnxTensor { Name = "w", Dims = [100000, 100000, 100000], DataType = 1, Floats = [1f] })));
        Assert.Equal("bad.onnx: tensor 'w' has a negative dimension -4.",
            Refusal(WithInitializer(new OnnxTensor { Name = "w", Dims = [-4, -1], DataType = 1, Floats = [1f, 2f, 3f, 4f] })));
        Assert.Equal("bad.onnx: tensor 's' should hold 3 values but has 2.",
            Refusal(WithInitializer(new OnnxTensor { Name = "s", Dims = [3], DataType = 7, Int64s = [1, 2] })));

        // data_location = EXTERNAL (14 = 1): the weights live in another file.
        var tensor = new ProtoWriter();
        tensor.Int(1, 4);
        tensor.Int(2, 1);
        tensor.String(8, "w");
        tensor.Int(14, 1);
        Assert.Equal("bad.onnx: tensor 'w' keeps its values in an external file, which Backprop does not read; save the model with its weights inside.",
            Refusal(Model(graph => graph.Message(5, tensor))));
    }

    [Fact]
    public void InvalidUtf8IsRefused()
    {
        // GraphProto.name (field 2) holding 'f' and two bytes that are not UTF-8.
        Assert.Equal("bad.onnx: the string at byte 5 is not valid UTF-8.", Refusal(Model(g => g.Bytes(2, [0x66, 0xFF, 0xFE]))));
    }

    [Fact]
    public void FileLargerThanAnArrayIsRefusedBeforeReading()
    {
        var path = Path.Combine(Path.GetTempPath(), $"backprop-huge-{Environment.ProcessId}.onnx");
        try
        {
            using (var f = File.Create(path)) f.SetLength(3L << 30);   // sparse: takes no disk space
            var e = Assert.Throws<ModelFormatException>(() => OnnxImport.Load(path));
            Assert.Equal($"{path}: it is 3221225472 bytes; Backprop reads ONNX files of up to {Array.MaxLength} bytes (larger models keep their weights in external data files, which it does not read).", e.Message);
        }
        finally { File.Delete(path); }
    }

    private static byte[] WithInitializer(OnnxTensor t)
    {
        var g = ImportTests.Graph([4], ("Relu", [], []));
        g.Initializers.Add(t);
        return ImportTests.Encode(g);
    }

    private static byte[] Model(Action<ProtoWriter> graph)
    {
        var g = new ProtoWriter();
        graph(g);
        var m = new ProtoWriter();
        m.Int(1, 8);
        m.Message(7, g);
        return m.Written.ToArray();
    }
}
