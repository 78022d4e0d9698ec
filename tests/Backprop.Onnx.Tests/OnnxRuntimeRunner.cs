using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Backprop.Onnx.Tests;

/// <summary>Runs an ONNX model in ONNX Runtime on one float input and returns its one output.</summary>
internal static class OnnxRuntimeRunner
{
    public static (float[] Values, int[] Shape) Run(byte[] model, float[] input, int[] shape)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(model, options);
        var name = session.InputMetadata.Keys.Single();
        var tensor = new DenseTensor<float>(input, shape);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(name, tensor)]);
        var output = results.Single().AsTensor<float>();
        return (output.ToArray(), output.Dimensions.ToArray());
    }
}
