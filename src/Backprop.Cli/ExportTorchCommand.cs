using Backprop.IO;

namespace Backprop.Cli;

/// <summary><c>backprop export-torch</c>: a saved model's weights as a PyTorch state dict (safetensors).</summary>
internal sealed class ExportTorchCommand : ICommand
{
    public string Name => "export-torch";
    public string Summary => "write a saved model's weights as a PyTorch state dict (safetensors)";
    public string Usage =>
        "usage: backprop export-torch --model FILE.safetensors --save OUT.safetensors\n\n" +
        "  --model FILE         a model saved by 'backprop train' or 'backprop import-torch'\n" +
        "  --save FILE          where to write the state dict\n\n" +
        "The names are those of the equivalent nn.Sequential, which the command prints: one index per layer\n" +
        "(activations, pooling, flatten and dropout included), without the leading reshape of image models (PyTorch\n" +
        "takes [N, C, H, W]). Linear weights are written [out, in], num_batches_tracked as I64.\n" +
        "In Python: model.load_state_dict(safetensors.torch.load_file(\"OUT.safetensors\")).\n";

    public int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var cl = new CommandLine(args, ["model", "save"], []);
        if (cl.Positionals.Count > 0) throw new UsageException($"unexpected argument '{cl.Positionals[0]}'.");
        var path = cl.String("model") ?? throw new UsageException("--model FILE is required (a .safetensors file written by 'backprop train').");
        var save = cl.String("save") ?? throw new UsageException("--save OUT.safetensors is required.");
        OutputPaths.CheckFile("--save", save);
        var (model, _) = ModelFile.Load(path);
        var result = TorchWeights.Export(model, save);
        stdout.WriteLine($"wrote {result.Names.Count} tensors to {save}: {string.Join(", ", result.Names)}");
        stdout.WriteLine(result.PyTorchModule is { } module
            ? $"PyTorch: model = {module}\n         model.load_state_dict(safetensors.torch.load_file(\"{save}\"))"
            : "PyTorch: a module with the same names (the model holds a layer with no PyTorch counterpart here)");
        return 0;
    }
}
