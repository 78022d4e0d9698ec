using Backprop.Nn;

namespace Backprop.IO;

/// <summary>
/// How a Backprop layer's tensors look in PyTorch: the same names and layouts, except <see cref="Dense"/>'s weight,
/// stored [in, out] here (<c>Y = X·W + b</c>, the seeds' <c>H_in = X·W1</c>) and [out, in] by nn.Linear
/// (<c>y = x·Wᵀ + b</c>), and BatchNorm's <c>num_batches_tracked</c>, a float32 scalar here and an I64 one there.
/// </summary>
internal static class TorchLayout
{
    /// <summary>One tensor of a layer: its name, the shape PyTorch stores, and how it crosses.</summary>
    public sealed record Slot(string Name, Tensor Tensor, int[] TorchShape, bool Transposed, bool Counter);

    /// <summary>A module holding tensors of its own, at <paramref name="Path"/> in the model, with those tensors.</summary>
    public sealed record Layer(string Path, Module Module, IReadOnlyList<Slot> Slots)
    {
        /// <summary>e.g. <c>Dense(784→128) at '3'</c>.</summary>
        public override string ToString() => Path.Length == 0 ? Module.ToString()! : $"{Module} at '{Path}'";
    }

    /// <summary>
    /// Every module of <paramref name="model"/> that holds parameters or buffers of its own, in the order the model's
    /// state dict lists them (a module's own tensors, then its children, depth first); a module reached twice (a
    /// shared layer) is listed once.
    /// </summary>
    public static List<Layer> Layers(Module model)
    {
        var layers = new List<Layer>();
        var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        Visit(model, "");
        return layers;

        void Visit(Module m, string path)
        {
            if (!seen.Add(m)) return;
            var children = m.Children().ToList();
            var own = m.StateDict().Where(e => !children.Any(c => e.Name.StartsWith(c.Name + ".", StringComparison.Ordinal))).ToList();
            if (own.Count > 0) layers.Add(new Layer(path, m, [.. own.Select(e => SlotOf(m, e.Name, e.Tensor))]));
            foreach (var (name, child) in children) Visit(child, path.Length == 0 ? name : $"{path}.{name}");
        }
    }

    private static Slot SlotOf(Module m, string name, Tensor t) => m switch
    {
        Dense d when name == "weight" => new Slot(name, t, [d.OutFeatures, d.InFeatures], Transposed: true, Counter: false),
        BatchNorm when name == "num_batches_tracked" => new Slot(name, t, [.. t.dims], Transposed: false, Counter: true),
        _ => new Slot(name, t, [.. t.dims], Transposed: false, Counter: false),
    };

    /// <summary>A [rows, cols] matrix's transpose, [cols, rows], as a new tensor.</summary>
    public static Tensor Transpose(Tensor matrix)
    {
        int rows = matrix.Shape[0], cols = matrix.Shape[1];
        var x = matrix.AsSpan();
        var y = new float[x.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) y[c * rows + r] = x[r * cols + c];
        return Tensor.FromArray(y, cols, rows);
    }
}
