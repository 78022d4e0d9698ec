using Backprop.IO;
using Backprop.Nn;
using Backprop.Onnx.Proto;

namespace Backprop.Onnx;

/// <summary>
/// Writes a Backprop model as an ONNX file (IR version 8, opset 17) that ONNX Runtime and other ONNX tools run.
/// </summary>
/// <remarks>
/// <para>The graph's input is <c>input</c>, of shape [batch, ..sampleShape] with a symbolic <c>batch</c>, and its
/// output <c>output</c>. Weights are initializers named as in the model file (<c>0.weight</c>, <c>2.running_mean</c>);
/// nodes are named <c>/&lt;layer path&gt;/&lt;OpType&gt;</c> as <c>torch.onnx</c> names them (<c>/0/Gemm</c>).</para>
/// <para>With a <see cref="ModelInfo"/> that holds a standardization, the graph starts with <c>Sub</c> and <c>Div</c>
/// nodes, so it takes raw features as <c>backprop predict</c> does; a regression model trained on standardized
/// targets ends with <c>Mul</c> and <c>Add</c>, so it answers in the target's units. Classifiers output what the model
/// outputs (logits unless the model ends in Softmax).</para>
/// </remarks>
public static class OnnxExport
{
    /// <summary>The ONNX IR version written.</summary>
    public const int IrVersion = 8;

    /// <summary>The version of the default operator set (ai.onnx) written.</summary>
    public const int Opset = 17;

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> as ONNX (atomically: a failed write leaves no file).</summary>
    /// <param name="model">A Sequential (nested Sequentials allowed) of exportable layers, or one such layer.</param>
    /// <param name="path">The .onnx file to write.</param>
    /// <param name="info">The model's info from its model file, or null; its standardization becomes the first nodes.</param>
    /// <param name="sampleShape">The shape of one example, without the batch: <c>[4]</c> for four features,
    /// <c>[1, 28, 28]</c> for an image.</param>
    /// <exception cref="InvalidOperationException">A layer has no ONNX equivalent; the message names it.</exception>
    /// <exception cref="ArgumentException">The model does not accept <paramref name="sampleShape"/>, or the
    /// standardization does not match it.</exception>
    public static void Save(Module model, string path, ModelInfo? info, IReadOnlyList<int> sampleShape)
    {
        ArgumentNullException.ThrowIfNull(path);
        var bytes = ToBytes(model, info, sampleShape);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        TempFiles.RemoveStale(path);
        var temp = TempFiles.PathFor(path);
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>The ONNX file <see cref="Save"/> writes, as bytes.</summary>
    public static byte[] ToBytes(Module model, ModelInfo? info, IReadOnlyList<int> sampleShape)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Count == 0 || sampleShape.Any(d => d <= 0))
            throw new ArgumentException($"the ONNX export expected the shape of one example (positive sizes, e.g. [4] or [1, 28, 28]) but got [{string.Join(", ", sampleShape)}].");
        var g = new ExportGraph("input");
        Standardize(g, info, sampleShape);

        // A batch of one, run layer by layer, gives each layer's input rank and checks the sample shape fits.
        var x = Tensor.Zeros([1, .. sampleShape]);
        using (InferenceMode.Enter())
        {
            foreach (var (path, layer) in Leaves(model, ""))
            {
                LayerExport.Emit(g, path, layer, x.Rank);
                try { x = layer.Forward(x); }
                catch (ShapeMismatchException e)
                {
                    throw new ArgumentException($"the model does not take examples of shape [{string.Join(", ", sampleShape)}]: {e.Message}", e);
                }
            }
        }
        Unstandardize(g, info, x);
        g.NameOutput("output");

        var graph = g.Graph;
        graph.Inputs.Add(Value("input", sampleShape));
        graph.Outputs.Add(Value("output", x.Shape.Skip(1).ToList()));
        var onnx = new OnnxModel
        {
            IrVersion = IrVersion,
            ProducerName = "backprop",
            ProducerVersion = System.Reflection.CustomAttributeExtensions.GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>(typeof(OnnxExport).Assembly)?.InformationalVersion.Split('+')[0] ?? "",
            Graph = graph,
        };
        onnx.Opsets.Add(new OnnxOpset("", Opset));
        if (info is not null) onnx.Metadata[OnnxInfo.Key] = OnnxInfo.Write(info);
        return OnnxEncoder.Encode(onnx);
    }

    // Raw features in: z = (x − μ) / σ, as `backprop predict` prepares them.
    private static void Standardize(ExportGraph g, ModelInfo? info, IReadOnlyList<int> sampleShape)
    {
        if (info?.InputMean is not { } mean || info.InputStd is not { } std) return;
        if (sampleShape.Count != 1 || sampleShape[0] != mean.Length || std.Length != mean.Length)
            throw new ArgumentException(
                $"the model's standardization has {mean.Length} means and {std.Length} standard deviations, so its examples are rows of {mean.Length} features, but the sample shape is [{string.Join(", ", sampleShape)}].");
        g.Node("", "Sub", [g.Floats("input_mean", mean)]);
        g.Node("", "Div", [g.Floats("input_std", std)]);
    }

    // Outputs in the target's units: y = z·σ + μ, as `backprop predict` reports regression outputs.
    private static void Unstandardize(ExportGraph g, ModelInfo? info, Tensor output)
    {
        if (info?.TargetMean is not { } mean || info.TargetStd is not { } std) return;
        if (output.Rank != 2 || output.Shape[1] != mean.Length || std.Length != mean.Length)
            throw new ArgumentException(
                $"the model's target standardization has {mean.Length} means and {std.Length} standard deviations but the model outputs [{string.Join(", ", output.Shape)}] per batch of 1.");
        g.Node("", "Mul", [g.Floats("target_std", std)]);
        g.Node("", "Add", [g.Floats("target_mean", mean)]);
    }

    // The layers in call order, nested Sequentials expanded, each with its path as in parameter names (1.0).
    private static IEnumerable<(string Path, Module Layer)> Leaves(Module module, string path)
    {
        if (module is not Sequential s)
        {
            yield return (path, module);
            yield break;
        }
        for (int i = 0; i < s.Layers.Count; i++)
            foreach (var leaf in Leaves(s.Layers[i], path.Length == 0 ? $"{i}" : $"{path}.{i}"))
                yield return leaf;
    }

    private static OnnxValueInfo Value(string name, IReadOnlyList<int> sampleShape) => new()
    {
        Name = name,
        ElemType = (int)OnnxDataType.Float,
        Shape = [new OnnxDim(null, "batch"), .. sampleShape.Select(d => new OnnxDim(d, null))],
    };
}
