using System.Text.Json;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Onnx.Proto;
using Backprop.Onnx.Protobuf;

namespace Backprop.Onnx;

/// <summary>
/// Reads an ONNX model that is a chain of layers (as <c>torch.onnx.export</c> writes an <c>nn.Sequential</c> of
/// Linear, Conv2d, pooling, Flatten, BatchNorm and activations, or as <see cref="OnnxExport"/> writes) into a Backprop
/// <see cref="Sequential"/> for inference and fine-tuning.
/// </summary>
/// <remarks>
/// Ops read: Gemm (transB 0 or 1, α and β folded into the weights), MatMul followed by Add, Conv, MaxPool,
/// AveragePool, Flatten, Reshape with a constant shape, BatchNormalization, Relu, Sigmoid, Tanh, LeakyRelu, Softmax;
/// Identity and Dropout are skipped. Sub and Div on the input become <see cref="ModelInfo.InputMean"/> and
/// <see cref="ModelInfo.InputStd"/>, Mul and Add on the output <see cref="ModelInfo.TargetStd"/> and
/// <see cref="ModelInfo.TargetMean"/>, so a file written by <see cref="OnnxExport"/> comes back as it was saved.
/// The file is bounds-checked throughout: a truncated, corrupt or hostile file is refused with a
/// <see cref="ModelFormatException"/>, and nothing is allocated beyond what the file itself holds.
/// </remarks>
public static class OnnxImport
{
    /// <summary>Reads the ONNX model at <paramref name="path"/>.</summary>
    /// <returns>The model, in evaluation mode, and its info (names and standardization where the file has them).</returns>
    /// <exception cref="ModelFormatException">The file is not ONNX, is truncated or corrupt, or uses an op or form
    /// Backprop does not import; the message names the node.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static (Module Model, ModelInfo Info) Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX file '{path}' does not exist.", path);
        long length = new FileInfo(path).Length;
        if (length > Array.MaxLength)
            throw new ModelFormatException(path, $"it is {length} bytes; Backprop reads ONNX files of up to {Array.MaxLength} bytes (larger models keep their weights in external data files, which it does not read).");
        return Read(File.ReadAllBytes(path), path);
    }

    /// <summary>Reads an ONNX model from <paramref name="bytes"/>; <paramref name="name"/> names it in errors.</summary>
    /// <exception cref="ModelFormatException">As for <see cref="Load"/>.</exception>
    public static (Module Model, ModelInfo Info) Read(ReadOnlySpan<byte> bytes, string name = "the ONNX model")
    {
        try
        {
            var onnx = OnnxDecoder.Decode(bytes);
            long opset = CheckVersions(onnx);
            var info = onnx.Metadata.TryGetValue(OnnxInfo.Key, out var json) ? OnnxInfo.Read(json) : new ModelInfo();
            var (model, inputMean, inputStd, targetMean, targetStd) = GraphImport.Run(onnx.Graph, opset);
            model.Eval();
            return (model, info with { InputMean = inputMean, InputStd = inputStd, TargetMean = targetMean, TargetStd = targetStd });
        }
        catch (OnnxFormatException e) { throw new ModelFormatException(name, e.Message, e); }
        catch (InvalidDataException e) { throw new ModelFormatException(name, e.Message, e); }
        catch (JsonException e) { throw new ModelFormatException(name, $"its '{OnnxInfo.Key}' metadata is not valid model info: {e.Message}", e); }
    }

    // The default domain's opset decides attribute defaults (Softmax's axis); below 11 ops had other forms.
    private static long CheckVersions(OnnxModel onnx)
    {
        if (onnx.IrVersion < 3)
            throw new OnnxFormatException($"it has IR version {onnx.IrVersion}; Backprop reads IR version 3 and later.");
        var opset = onnx.Opsets.FirstOrDefault(o => o.Domain is "" or "ai.onnx")
            ?? throw new OnnxFormatException("it imports no version of the default operator set (ai.onnx).");
        if (opset.Version < 11)
            throw new OnnxFormatException($"it uses opset {opset.Version}; Backprop reads opset 11 and later (re-export it with a newer opset).");
        return opset.Version;
    }
}
