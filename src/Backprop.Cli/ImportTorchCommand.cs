using Backprop.Data;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Cli;

/// <summary><c>backprop import-torch</c>: a PyTorch state dict (safetensors) into the model a spec builds, saved as a Backprop model.</summary>
internal sealed class ImportTorchCommand : ICommand
{
    public string Name => "import-torch";
    public string Summary => "load PyTorch weights (safetensors) into a model spec and save it as a Backprop model";
    public string Usage =>
        "usage: backprop import-torch FILE.safetensors --model SPEC (--input SHAPE | --dataset NAME | --data FILE.csv --target COLUMN)\n" +
        "                             --save OUT.safetensors [--order M1,M2,...] [--loss NAME]\n\n" +
        "  FILE.safetensors     a PyTorch state dict: safetensors.torch.save_file(model.state_dict(), FILE)\n" +
        "                       (F32, F16, BF16 or F64 weights; BatchNorm's I64 num_batches_tracked)\n" +
        "  --model SPEC         the PyTorch model's layers in the model language, e.g. \"dense(128)-relu-dense(10)\"\n" +
        "                       for nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))\n" +
        "  --input SHAPE        the shape of one example: 784 (a row of features) or 1x28x28 (channels x height x width)\n" +
        DataOptions.Help.Replace("iris (default), ", "iris, ", StringComparison.Ordinal) +
        "                       (the data the model is for: its feature names and classes are saved with the model,\n" +
        "                       which predict and evaluate need; its example shape is the default --input)\n" +
        "  --save FILE          where to write the Backprop model\n" +
        "  --order M1,M2,...    the PyTorch modules that hold tensors, in the order the model uses them (e.g.\n" +
        "                       conv1,bn1,fc1,fc2); default: module paths sorted with numbers by value (nn.Sequential's\n" +
        "                       0, 2, 10 and features.0, features.3), else the one module whose shapes fit each layer\n" +
        "  --loss NAME          the loss saved with the model (default: cross_entropy for classes, mse otherwise)\n\n" +
        "Linear weights are transposed ([out, in] in PyTorch, [in, out] in Backprop); other layers keep PyTorch's layout.\n";

    public int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var cl = new CommandLine(args, [.. DataOptions.ValueOptions, "model", "input", "save", "order", "loss"], []);
        if (cl.Positionals.Count == 0) throw new UsageException("give the PyTorch file: backprop import-torch FILE.safetensors ...");
        if (cl.Positionals.Count > 1) throw new UsageException($"expected one PyTorch file but got {cl.Positionals.Count}: {string.Join(", ", cl.Positionals)}.");
        var file = cl.Positionals[0];
        var spec = cl.String("model") ?? throw new UsageException("--model SPEC is required (the PyTorch model's layers, e.g. \"dense(128)-relu-dense(10)\").");
        if (ModelLanguage.IsMlpShorthand(spec))
            throw new UsageException($"import-torch reads the model language; write {spec} as its layers, e.g. \"dense(64)-relu-dense(10)\".");
        var save = cl.String("save") ?? throw new UsageException("--save OUT.safetensors is required.");
        OutputPaths.CheckFile("--save", save);
        var order = cl.String("order") is { } o ? o.Split(',', StringSplitOptions.TrimEntries) : null;
        if (order is not null && order.Any(m => m.Length == 0))
            throw new UsageException($"--order expects PyTorch module names joined by ',' (e.g. conv1,bn1,fc1) but got '{cl.String("order")}'.");

        Dataset? data = cl.Has("dataset") || cl.Has("data") ? DataOptions.Load(cl, seed: 1, fallbackDataset: null) : null;
        int[] sample = cl.String("input") is { } input ? SummaryCommand.ParseShape(input)
            : data is not null ? [.. data.SampleShape]
            : throw new UsageException("give --input SHAPE (e.g. 784 or 1x28x28) or the data the model is for (--dataset NAME or --data FILE.csv --target COLUMN).");
        int width = sample.Aggregate(1, (a, b) => checked(a * b));
        if (data is not null && data.Features.Shape[1] != width)
            throw new UsageException($"--input {string.Join("x", sample)} is {width} values per example but the data has {data.Features.Shape[1]} features.");

        var model = ModelLanguage.Build(spec, sample, new Rng(0));
        var result = TorchWeights.Import(model, file, new TorchImportOptions { Order = order });
        int outputs = OutputWidth(model, width);
        var classes = data?.ClassNames;
        if (classes is not null && outputs != classes.Count && !(outputs == 1 && classes.Count == 2))
            throw new ArgumentException($"the model gives {outputs} output(s) per example but the data has {classes.Count} classes ({string.Join(", ", classes)}).");
        var loss = Losses.ByName(cl.String("loss") ?? (classes is null ? "mse" : outputs == 1 ? "bce_logits" : "cross_entropy"));

        int column = result.Matches.Max(m => m.TorchModule.Length);
        foreach (var m in result.Matches)
            stdout.WriteLine($"{(m.TorchModule.Length == 0 ? "(top level)" : m.TorchModule).PadRight(Math.Max(column, 11))}  →  {m.LayerPath}: {m.Layer}  [{string.Join(", ", m.Tensors)}]");
        stdout.WriteLine(result.Rule switch
        {
            TorchImportRule.Names => "matched in the order of the module names",
            TorchImportRule.Shapes => "matched by shape: the module names do not sort in the model's order, and one module fits each layer",
            _ => "matched in the order given by --order",
        });
        model.Eval();
        model.Save(save, new ModelInfo
        {
            FeatureNames = data?.FeatureNames ?? [],
            ClassNames = classes,
            Loss = loss.Name,
            Dataset = cl.String("dataset") ?? data?.Name,
            TargetName = cl.String("target"),
        });
        stdout.WriteLine($"saved   {save}");
        return 0;
    }

    private static int OutputWidth(Module model, int width)
    {
        using var _ = InferenceMode.Enter();
        return model.Forward(Tensor.Zeros(1, width)).Size;
    }
}
