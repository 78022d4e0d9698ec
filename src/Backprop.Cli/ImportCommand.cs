using Backprop.IO;
using Backprop.Onnx;

namespace Backprop.Cli;

/// <summary><c>backprop import</c>: reads an ONNX model (e.g. exported by PyTorch) into a Backprop model file.</summary>
internal sealed class ImportCommand : ICommand
{
    public string Name => "import";
    public string Summary => "read an ONNX model (a chain of layers, e.g. from torch.onnx) into a model file";
    public string Usage =>
        "usage: backprop import --onnx FILE.onnx --save OUT.safetensors\n\n" +
        "  --onnx FILE          the ONNX model to read\n" +
        "  --save FILE          the model file to write, for evaluate, predict, summary and further training\n\n" +
        "Ops read: Gemm, MatMul+Add, Conv, MaxPool, AveragePool, Flatten, Reshape (constant shape), BatchNormalization,\n" +
        "Relu, Sigmoid, Tanh, LeakyRelu, Softmax; Identity and Dropout are skipped. The graph must be a chain of layers.\n";

    public int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var cl = new CommandLine(args, ["onnx", "save"], []);
        if (cl.Positionals.Count > 0) throw new UsageException($"unexpected argument '{cl.Positionals[0]}'.");
        var input = cl.String("onnx") ?? throw new UsageException("--onnx FILE.onnx is required (the model to read).");
        var save = cl.String("save") ?? throw new UsageException("--save OUT.safetensors is required (the model file to write).");
        OutputPaths.CheckFile("--save", save);
        var (model, info) = OnnxImport.Load(input);
        model.Save(save, info);
        stdout.WriteLine($"imported {input}: {model}, {model.ParameterCount()} parameters");
        stdout.WriteLine($"saved   {save}");
        return 0;
    }
}
