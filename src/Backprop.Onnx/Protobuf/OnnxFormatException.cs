namespace Backprop.Onnx.Protobuf;

/// <summary>What is wrong with the bytes of an ONNX file; the importer adds the file's name.</summary>
internal sealed class OnnxFormatException(string message) : Exception(message);
