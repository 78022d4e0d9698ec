using Backprop.Nn;
using Backprop.Onnx.Proto;

namespace Backprop.Onnx;

/// <summary>The ONNX nodes of each Backprop layer (opset 17).</summary>
internal static class LayerExport
{
    /// <summary>The layer types <see cref="Emit"/> covers, for error messages.</summary>
    public const string Covered =
        "Dense, Conv2d, ConvTranspose2d, Upsample, MaxPool2d, AvgPool2d, Flatten, Reshape, BatchNorm1d, BatchNorm2d, Sigmoid, Tanh, ReLU, LeakyReLU, Softmax, Identity, Dropout";

    /// <summary>
    /// Appends the nodes computing <paramref name="layer"/> (at <paramref name="path"/>, e.g. <c>2</c> or <c>1.0</c>) on
    /// the current value, whose rank including the batch is <paramref name="rank"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The layer has no ONNX equivalent here.</exception>
    public static void Emit(ExportGraph g, string path, Module layer, int rank)
    {
        string Param(string name) => path.Length == 0 ? name : $"{path}.{name}";
        switch (layer)
        {
            case Dense d when rank == 2:
                // Y = X·W + b with W stored [in, out]: Gemm with transB = 0 (torch writes transB = 1 for its [out, in]).
                g.Node(path, "Gemm", d.Bias is null ? [g.Weight(Param("weight"), d.Weight)] : [g.Weight(Param("weight"), d.Weight), g.Weight(Param("bias"), d.Bias)],
                    OnnxAttribute.Of("alpha", 1f), OnnxAttribute.Of("beta", 1f), OnnxAttribute.Of("transB", 0L));
                break;
            case Dense d:
                // Gemm takes rank 2 only; MatMul broadcasts over the leading axes of [.., in].
                g.Node(path, "MatMul", [g.Weight(Param("weight"), d.Weight)]);
                if (d.Bias is not null) g.Node(path, "Add", [g.Weight(Param("bias"), d.Bias)]);
                break;
            case Conv2d c:
                g.Node(path, "Conv", c.Bias is null ? [g.Weight(Param("weight"), c.Weight)] : [g.Weight(Param("weight"), c.Weight), g.Weight(Param("bias"), c.Bias)],
                    OnnxAttribute.Of("dilations", 1L, 1L), OnnxAttribute.Of("group", 1L),
                    OnnxAttribute.Of("kernel_shape", c.KernelSize, c.KernelSize),
                    OnnxAttribute.Of("pads", c.Padding, c.Padding, c.Padding, c.Padding),
                    OnnxAttribute.Of("strides", c.Stride, c.Stride));
                break;
            case ConvTranspose2d c:
                // ONNX's ConvTranspose has PyTorch's weight layout [C, OC, k, k] and its output_padding.
                g.Node(path, "ConvTranspose", c.Bias is null ? [g.Weight(Param("weight"), c.Weight)] : [g.Weight(Param("weight"), c.Weight), g.Weight(Param("bias"), c.Bias)],
                    OnnxAttribute.Of("dilations", 1L, 1L), OnnxAttribute.Of("group", 1L),
                    OnnxAttribute.Of("kernel_shape", c.KernelSize, c.KernelSize),
                    OnnxAttribute.Of("output_padding", c.OutputPadding, c.OutputPadding),
                    OnnxAttribute.Of("pads", c.Padding, c.Padding, c.Padding, c.Padding),
                    OnnxAttribute.Of("strides", c.Stride, c.Stride));
                break;
            case Upsample u:
                // Resize(X, roi = none, scales [1, 1, s, s]). Nearest: source index ⌊o/s⌋ (asymmetric, floor); bilinear
                // with align_corners = false: (o + ½)/s − ½ clamped at 0, which is ONNX's pytorch_half_pixel.
                g.Node(path, "Resize", ["", g.Floats($"{ExportGraph.Prefix(path)}/scales", [1f, 1f, u.Scale, u.Scale])],
                    u.Mode == UpsampleMode.Nearest
                        ? [OnnxAttribute.Of("coordinate_transformation_mode", "asymmetric"), OnnxAttribute.Of("mode", "nearest"), OnnxAttribute.Of("nearest_mode", "floor")]
                        : [OnnxAttribute.Of("coordinate_transformation_mode", "pytorch_half_pixel"), OnnxAttribute.Of("mode", "linear")]);
                break;
            case MaxPool2d p:
                // Backprop's windows never pad and drop a partial last window: ceil_mode = 0, pads 0.
                g.Node(path, "MaxPool", [], OnnxAttribute.Of("ceil_mode", 0L), OnnxAttribute.Of("kernel_shape", p.KernelSize, p.KernelSize),
                    OnnxAttribute.Of("pads", 0L, 0L, 0L, 0L), OnnxAttribute.Of("strides", p.Stride, p.Stride));
                break;
            case AvgPool2d p:
                g.Node(path, "AveragePool", [], OnnxAttribute.Of("ceil_mode", 0L), OnnxAttribute.Of("count_include_pad", 0L),
                    OnnxAttribute.Of("kernel_shape", p.KernelSize, p.KernelSize),
                    OnnxAttribute.Of("pads", 0L, 0L, 0L, 0L), OnnxAttribute.Of("strides", p.Stride, p.Stride));
                break;
            case Flatten:
                g.Node(path, "Flatten", [], OnnxAttribute.Of("axis", 1L));
                break;
            case Reshape r:
                // -1 keeps the batch dynamic: it is whatever the input holds divided by one example's size.
                g.Node(path, "Reshape", [g.Ints($"{ExportGraph.Prefix(path)}/Constant_output_0", [-1, .. r.SampleShape.Select(s => (long)s)])]);
                break;
            case BatchNorm b:
                // Evaluation form: y = γ·(x − running_mean)/√(running_var + ε) + β. ONNX's momentum weighs the old
                // running value (running = momentum·running + (1 − momentum)·batch), PyTorch's the new batch.
                string scale = b.Weight is null ? g.Floats($"{ExportGraph.Prefix(path)}/scale", Enumerable.Repeat(1f, b.Features).ToArray()) : g.Weight(Param("weight"), b.Weight);
                string shift = b.Bias is null ? g.Floats($"{ExportGraph.Prefix(path)}/shift", new float[b.Features]) : g.Weight(Param("bias"), b.Bias);
                g.Node(path, "BatchNormalization", [scale, shift, g.Weight(Param("running_mean"), b.RunningMean), g.Weight(Param("running_var"), b.RunningVar)],
                    OnnxAttribute.Of("epsilon", b.Eps), OnnxAttribute.Of("momentum", 1f - b.Momentum));
                break;
            case Sigmoid: g.Node(path, "Sigmoid", []); break;
            case Tanh: g.Node(path, "Tanh", []); break;
            case Relu: g.Node(path, "Relu", []); break;
            case LeakyRelu l: g.Node(path, "LeakyRelu", [], OnnxAttribute.Of("alpha", l.Slope)); break;
            case Softmax: g.Node(path, "Softmax", [], OnnxAttribute.Of("axis", -1L)); break;
            case Identity or Dropout: break;   // the identity in evaluation, as torch.onnx drops them
            default:
                throw new InvalidOperationException(
                    $"cannot export {layer} at '{(path.Length == 0 ? "the model" : path)}' to ONNX: Backprop has no ONNX equivalent for {layer.GetType().Name}; " +
                    $"the exportable layers are {Covered} (and Sequentials of them).");
        }
    }
}
