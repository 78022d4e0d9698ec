using Backprop.Nn;

namespace Backprop.Onnx;

/// <summary>
/// Builds the Backprop layer of one ONNX node from its attributes and constant inputs, given the shape of one example
/// it receives (<c>sample</c>, without the batch), and returns the layer with the shape of one example it produces.
/// </summary>
internal static class Layers
{
    /// <summary>Gemm: Y = α·A'·B' + β·C, with A the running value (transA = 0) and B, C constants.</summary>
    public static (Module, int[]) Gemm(ImportNode node, int[] sample)
    {
        if (node.Int("transA", 0) != 0) throw node.Error("transposes its input (transA = 1); Backprop imports Gemm with the batch as A's rows.");
        var b = node.Floats(1, "the weight", rank: 2);
        bool transB = node.Int("transB", 0) != 0;
        // torch writes W [out, in] with transB = 1; Backprop's Dense keeps W [in, out].
        int inF = (int)(transB ? b.Dims[1] : b.Dims[0]), outF = (int)(transB ? b.Dims[0] : b.Dims[1]);
        CheckRows(node, sample, inF);
        float alpha = node.Float("alpha", 1f), beta = node.Float("beta", 1f);
        var dense = new Dense(inF, outF, bias: node.Has(2));
        var w = dense.Weight.AsSpan();
        for (int i = 0; i < inF; i++)
            for (int o = 0; o < outF; o++)
                w[i * outF + o] = alpha * (transB ? b.Floats![o * inF + i] : b.Floats![i * outF + o]);
        if (dense.Bias is not null)
        {
            var c = node.Floats(2, "the bias");
            if (c.Floats!.Length != outF && c.Floats.Length != 1)
                throw node.Error($"expected the bias '{node.Proto.Inputs[2]}' of {outF} values (or 1) but it has dims [{string.Join(", ", c.Dims)}].");
            var bias = dense.Bias.AsSpan();
            for (int o = 0; o < outF; o++) bias[o] = beta * c.Floats[c.Floats.Length == 1 ? 0 : o];
        }
        return (dense, [outF]);
    }

    /// <summary>MatMul by a constant [in, out], and the Add of a constant [out] after it when there is one.</summary>
    public static (Module, int[]) MatMul(ImportNode node, ImportNode? add, int[] sample)
    {
        var b = node.Floats(1, "the weight", rank: 2);
        int inF = (int)b.Dims[0], outF = (int)b.Dims[1];
        CheckRows(node, sample, inF);
        var dense = new Dense(inF, outF, bias: add is not null);
        b.Floats!.CopyTo(dense.Weight.AsSpan());
        if (add is not null) add.Vector(1, "the bias", outF).CopyTo(dense.Bias!.AsSpan());
        return (dense, [outF]);
    }

    /// <summary>Conv: square kernel, equal strides and pads on every side, no dilation, no groups.</summary>
    public static (Module, int[]) Conv(ImportNode node, int[] sample)
    {
        var w = node.Floats(1, "the filters", rank: 4);
        if (sample.Length != 3 || sample[0] != w.Dims[1])
            throw node.Error($"expected input [N, {w.Dims[1]}, H, W] for its filters [{string.Join(", ", w.Dims)}] but gets [N, {string.Join(", ", sample)}].");
        if (node.Int("group", 1) != 1) throw node.Error($"has {node.Int("group", 1)} groups; Backprop's Conv2d has one.");
        int k = Square(node, "kernel_shape", [w.Dims[2], w.Dims[3]]);
        if (k != w.Dims[2] || k != w.Dims[3]) throw node.Error($"has kernel_shape {k} but filters [{string.Join(", ", w.Dims)}].");
        int stride = Square(node, "strides", [1, 1]);
        int pad = Pads(node);
        if (node.Ints("dilations") is { } dil && dil.Any(d => d != 1))
            throw node.Error($"has dilations [{string.Join(", ", dil)}]; Backprop's Conv2d has none.");
        int outC = (int)w.Dims[0];
        int oh = (sample[1] + 2 * pad - k) / stride + 1, ow = (sample[2] + 2 * pad - k) / stride + 1;
        if (sample[1] + 2 * pad < k || sample[2] + 2 * pad < k)
            throw node.Error($"has a {k}×{k} kernel but its input is {sample[1]}×{sample[2]} with padding {pad}.");
        var conv = new Conv2d(sample[0], outC, k, stride, pad, bias: node.Has(2));
        w.Floats!.CopyTo(conv.Weight.AsSpan());
        if (conv.Bias is not null) node.Vector(2, "the bias", outC).CopyTo(conv.Bias.AsSpan());
        return (conv, [outC, oh, ow]);
    }

    /// <summary>MaxPool and AveragePool: square windows, no padding, floor of partial windows (ceil_mode = 0).</summary>
    public static (Module, int[]) Pool(ImportNode node, int[] sample)
    {
        if (sample.Length != 3) throw node.Error($"expected input [N, C, H, W] but gets [N, {string.Join(", ", sample)}].");
        var shape = node.Ints("kernel_shape") ?? throw node.Error("has no kernel_shape.");
        int k = Square(node, "kernel_shape", shape);
        int stride = Square(node, "strides", [1, 1]);   // ONNX's default stride is 1, not the window
        Pads(node, mustBeZero: true);
        if (node.Int("ceil_mode", 0) != 0) throw node.Error("rounds partial windows up (ceil_mode = 1); Backprop's pooling drops them.");
        if (node.Ints("dilations") is { } dil && dil.Any(d => d != 1))
            throw node.Error($"has dilations [{string.Join(", ", dil)}]; Backprop's pooling has none.");
        if (node.Proto.Outputs.Count > 1 && node.Proto.Outputs[1].Length > 0)
            throw node.Error("also outputs the indices of the maxima, which Backprop does not compute.");
        if (sample[1] < k || sample[2] < k) throw node.Error($"has a {k}×{k} window but its input is {sample[1]}×{sample[2]}.");
        Module pool = node.Op == "MaxPool" ? new MaxPool2d(k, stride) : new AvgPool2d(k, stride);
        return (pool, [sample[0], (sample[1] - k) / stride + 1, (sample[2] - k) / stride + 1]);
    }

    /// <summary>Reshape by a constant shape that keeps the batch: [-1 | 0 | N, ..sizes] with 0 and one -1 resolved.</summary>
    public static (Module, int[]) Reshape(ImportNode node, int[] sample)
    {
        if (node.Int("allowzero", 0) != 0) throw node.Error("has allowzero = 1; Backprop reads 0 in a shape as 'keep this size'.");
        var shape = node.Longs(1, "the shape");
        long size = sample.Aggregate(1L, (a, d) => a * d);
        if (shape.Length < 2)
            throw node.Error($"reshapes to [{string.Join(", ", shape)}]; Backprop keeps the batch axis, so the shape needs a batch size and one or more sizes.");
        var rest = new long[shape.Length - 1];
        int unknown = -1;
        for (int i = 1; i < shape.Length; i++)
        {
            long d = shape[i];
            if (d == 0) d = i - 1 < sample.Length ? sample[i - 1] : throw node.Error($"copies size {i} of its input, which has rank {sample.Length + 1}.");
            else if (d == -1)
            {
                if (unknown >= 0) throw node.Error($"has more than one -1 in shape [{string.Join(", ", shape)}].");
                unknown = i - 1;
                d = 1;
            }
            else if (d < 1 || d > int.MaxValue) throw node.Error($"has a size of {d} in shape [{string.Join(", ", shape)}].");
            rest[i - 1] = d;
        }
        long known = rest.Aggregate(1L, (a, d) => a > size ? a : a * d);
        if (unknown >= 0)
        {
            if (known == 0 || size % known != 0) throw node.Error($"cannot reshape {size} values per example to [{string.Join(", ", shape)}].");
            rest[unknown] = size / known;
        }
        else if (known != size)
            throw node.Error($"reshapes examples of {size} values to [{string.Join(", ", shape)}], which changes the batch; Backprop keeps it.");
        if (shape[0] is not (-1 or 0) && shape[0] < 1)
            throw node.Error($"has a batch size of {shape[0]} in shape [{string.Join(", ", shape)}].");
        int[] target = [.. rest.Select(d => (int)d)];
        return (new Nn.Reshape(target), target);
    }

    /// <summary>BatchNormalization in inference form; ONNX's momentum weighs the old running value, PyTorch's the new batch.</summary>
    public static (Module, int[]) BatchNorm(ImportNode node, int[] sample)
    {
        if (node.Int("training_mode", 0) != 0) throw node.Error("is in training mode; Backprop imports the inference form.");
        if (sample.Length is < 1 or > 3) throw node.Error($"expected input [N, C], [N, C, L] or [N, C, H, W] but gets [N, {string.Join(", ", sample)}].");
        int c = sample[0];
        float eps = node.Float("epsilon", 1e-5f);
        // 1 − (1 − m) in float32 is m only to about 1e-8 (0.2 comes back 0.19999999): six decimals give
        // back the value written in PyTorch or Backprop, and momentum only moves the running statistics in training.
        float momentum = (float)Math.Round(1.0 - node.Float("momentum", 0.9f), 6);
        if (!(eps > 0f)) throw node.Error($"has epsilon {eps}; Backprop needs ε > 0.");
        if (!(momentum >= 0f && momentum <= 1f)) throw node.Error($"has momentum {1f - momentum}; Backprop needs it in [0, 1].");
        Nn.BatchNorm bn = sample.Length == 3 ? new BatchNorm2d(c, eps, momentum) : new BatchNorm1d(c, eps, momentum);
        node.Vector(1, "the scale", c).CopyTo(bn.Weight!.AsSpan());
        node.Vector(2, "the shift", c).CopyTo(bn.Bias!.AsSpan());
        node.Vector(3, "the running mean", c).CopyTo(bn.RunningMean.AsSpan());
        var variance = node.Vector(4, "the running variance", c);
        if (variance.Any(v => v < 0f)) throw node.Error("has a negative running variance.");
        variance.CopyTo(bn.RunningVar.AsSpan());
        return (bn, sample);
    }

    private static void CheckRows(ImportNode node, int[] sample, int inF)
    {
        if (sample.Length != 1 || sample[0] != inF)
            throw node.Error($"expected input [N, {inF}] for its weight but gets [N, {string.Join(", ", sample)}].");
    }

    // A per-axis attribute of two equal values (height, width); `fallback` when absent.
    private static int Square(ImportNode node, string name, long[] fallback)
    {
        var v = node.Ints(name) ?? fallback;
        if (v.Length != 2 || v[0] != v[1] || v[0] < 1 || v[0] > int.MaxValue)
            throw node.Error($"has {name} [{string.Join(", ", v)}]; Backprop takes two equal positive sizes (height = width).");
        return (int)v[0];
    }

    // pads [top, left, bottom, right] all equal (Backprop pads every side alike); auto_pad must be explicit.
    private static int Pads(ImportNode node, bool mustBeZero = false)
    {
        var autoPad = node.String("auto_pad", "NOTSET");
        if (autoPad is not ("NOTSET" or "VALID" or ""))
            throw node.Error($"has auto_pad {autoPad}; Backprop imports explicit pads.");
        var pads = node.Ints("pads") ?? [0, 0, 0, 0];
        if (pads.Length != 4 || pads.Any(p => p != pads[0]) || pads[0] < 0 || pads[0] > int.MaxValue || (mustBeZero && pads[0] != 0))
            throw node.Error($"has pads [{string.Join(", ", pads)}]; Backprop takes {(mustBeZero ? "no padding here" : "the same padding on every side")}.");
        return (int)pads[0];
    }
}
