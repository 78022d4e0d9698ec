using Backprop.IO;
using Backprop.Nn;
using Backprop.Onnx;

namespace Backprop.Cli;

/// <summary><c>backprop export</c>: writes a saved model as ONNX, for ONNX Runtime and other ONNX tools.</summary>
internal sealed class ExportCommand : ICommand
{
    public string Name => "export";
    public string Summary => "write a saved model as ONNX (opset 17) for ONNX Runtime";
    public string Usage =>
        "usage: backprop export --model FILE.safetensors --onnx OUT.onnx [--input SHAPE]\n\n" +
        "  --model FILE         a model saved by 'backprop train'\n" +
        "  --onnx FILE          the ONNX file to write (IR version 8, opset 17, any batch size)\n" +
        "  --input SHAPE        the shape of one example: 784 (a row of features) or 1x28x28 (channels x height x width);\n" +
        "                       default: the model's feature count, or its first layer's input width\n\n" +
        "The ONNX model takes raw features, as 'backprop predict' does: the standardization saved with the model\n" +
        "becomes its first nodes. Exportable layers: " + LayerExportNames + ".\n";

    private const string LayerExportNames = "dense, conv, maxpool, avgpool, flatten, reshape, batchnorm, the activations, dropout (dropped)";

    public int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var cl = new CommandLine(args, ["model", "onnx", "input"], []);
        if (cl.Positionals.Count > 0) throw new UsageException($"unexpected argument '{cl.Positionals[0]}'.");
        var output = cl.String("onnx") ?? throw new UsageException("--onnx OUT.onnx is required (the file to write).");
        OutputPaths.CheckFile("--onnx", output, "model.onnx");
        var saved = SavedModel.Load(cl);
        int[] sample = cl.String("input") is { } input ? SummaryCommand.ParseShape(input) : DefaultSample(saved);
        OnnxExport.Save(saved.Model, output, saved.Info, sample);
        stdout.WriteLine($"wrote {output}: ONNX opset {OnnxExport.Opset}, input [batch, {string.Join(", ", sample)}]" +
            (saved.Info.InputMean is null ? "" : " of raw features (standardized inside the graph)"));
        return 0;
    }

    // One example's shape: a row of the model's features when it records them, else what its first layer takes.
    private static int[] DefaultSample(SavedModel saved)
    {
        if (saved.Info.InputMean is { } mean) return [mean.Length];
        if (saved.Info.FeatureNames.Count > 0) return [saved.Info.FeatureNames.Count];
        var first = saved.Model is Sequential { Layers.Count: > 0 } s ? s.Layers[0] : saved.Model;
        return first switch
        {
            Dense d => [d.InFeatures],
            Reshape r => [r.SampleSize],
            _ => throw new UsageException($"cannot tell the input shape of {saved.Path} from its first layer, {first}; give --input SHAPE (e.g. 1x28x28)."),
        };
    }
}
