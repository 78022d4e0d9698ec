namespace Backprop.Explain;

// Builds a trace by running one real forward and backward pass through the autograd engine, then reading the seeds'
// quantities off the recorded graph. Nothing here re-derives a gradient by hand: the closed forms only appear as
// text (TraceEntry.Formula) and in the tests that check the engine against them.
public sealed partial class StepTrace
{
    /// <summary>
    /// The seeds' two-layer network without biases: <c>H_in = X·W1, H_out = f(H_in), O_in = H_out·W2,
    /// O_out = f(O_in)</c>, loss <c>E = 1/(2N)·Σ(O_out − Y)²</c>, one backward pass. Names: <c>X, Y, W1, W2,
    /// H_in, H_out, O_in, O_out, O_error, O_delta, W2_update, H_error, H_delta, W1_update</c>.
    /// </summary>
    /// <param name="x">[rows, inputs]: one example per row.</param>
    /// <param name="y">[rows, outputs]: targets (e.g. one-hot classes).</param>
    /// <param name="w1">[inputs, hidden].</param>
    /// <param name="w2">[hidden, outputs].</param>
    /// <param name="activation">Used by both layers: <c>sigmoid</c> (the seeds'), <c>tanh</c>, <c>relu</c>, <c>identity</c>.</param>
    /// <remarks>The given tensors are copied, never changed; their gradients are left alone.</remarks>
    public static StepTrace ForTwoLayer(Tensor x, Tensor y, Tensor w1, Tensor w2, string activation = "sigmoid") =>
        ForModel(x, y, [new TraceLayer(w1, null, activation), new TraceLayer(w2, null, activation)]);

    /// <summary>
    /// Explains one step of a stack of dense layers, <c>A_i = f_i(A_{i−1}·W_i + b_i)</c> with <c>A_0 = X</c>, under
    /// the seeds' loss <c>E = 1/(2N)·Σ(O_out − Y)²</c>.
    /// </summary>
    /// <remarks>
    /// The last layer uses the seeds' output names (<c>O_in, O_out, O_error, O_delta</c>). With exactly one hidden
    /// layer it is called <c>H</c> as in the seeds; deeper hidden layers are <c>L1, L2, ...</c>
    /// (<c>L1_in, L1_out, L1_error, L1_delta</c>). Layer i's parameters are <c>Wi</c> and <c>bi</c>, their
    /// gradients <c>Wi_update</c> and <c>bi_update</c>. Order: X, Y, every Wi (bi), the forward values layer by
    /// layer, O_error, then each layer from the output back: its error (hidden layers), delta and updates.
    /// </remarks>
    public static StepTrace ForModel(Tensor x, Tensor y, IReadOnlyList<TraceLayer> layers)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(layers);
        Validate(x, y, layers);
        if (!GradMode.IsEnabled)
            throw new InvalidOperationException("StepTrace needs gradient recording, but it was called inside GradMode.NoGrad().");

        int count = layers.Count;
        var prefix = new string[count];
        var activation = new ActivationByName[count];
        for (int i = 0; i < count; i++)
        {
            prefix[i] = i == count - 1 ? "O" : count == 2 ? "H" : $"L{i + 1}";
            activation[i] = ActivationByName.Parse(layers[i].Activation, $"StepTrace layer {i + 1}");
        }

        var entries = new List<TraceEntry>();
        var X = Leaf(x, "X", requiresGrad: false);
        var Y = Leaf(y, "Y", requiresGrad: false);
        entries.Add(new("X", X, "", "given"));
        entries.Add(new("Y", Y, "", "given"));
        var W = new Tensor[count];
        var b = new Tensor?[count];
        for (int i = 0; i < count; i++)
        {
            W[i] = Leaf(layers[i].Weight, $"W{i + 1}", requiresGrad: true);
            entries.Add(new($"W{i + 1}", W[i], "", "given"));
            if (layers[i].Bias is { } bias)
            {
                b[i] = Leaf(bias, $"b{i + 1}", requiresGrad: true);
                entries.Add(new($"b{i + 1}", b[i]!, "", "given"));
            }
        }

        // Forward: Z_i = A_{i−1}·W_i (+ b_i), A_i = f_i(Z_i).
        var Z = new Tensor[count];
        var A = new Tensor[count];
        var prev = X;
        string prevOut = "X";
        for (int i = 0; i < count; i++)
        {
            string inName = prefix[i] + "_in", outName = prefix[i] + "_out";
            Z[i] = prev.MatMul(W[i]);
            if (b[i] is { } bi) Z[i] = Z[i] + bi;
            Z[i].Name = inName;
            A[i] = activation[i].Apply(Z[i]);
            A[i].Name ??= outName;   // identity returns Z itself, which keeps its _in name in the graph
            entries.Add(new(inName, Z[i], $"{prevOut}·W{i + 1}" + (b[i] is null ? "" : $" + b{i + 1}"), "forward"));
            entries.Add(new(outName, A[i], activation[i].Formula(inName), "forward"));
            prev = A[i];
            prevOut = outName;
        }

        // E = 1/(2N)·Σ(O_out − Y)². O_error is the forward node O_out − Y itself; N·∂E/∂O_out equals it.
        int n = Y.Size;
        var error = A[^1] - Y;
        error.Name = "O_error";
        var twoN = Tensor.Scalar(2f * n);
        twoN.Name = "2N";
        var loss = error.Square().Sum() / twoN;
        loss.Name = "E";
        loss.BackwardRetainingGrads();   // the trace reads ∂E/∂ of the intermediate results
        entries.Add(new("O_error", error, "O_out − Y", "forward; = N·∂E/∂O_out"));

        // Backward, output first. delta_i = N·∂E/∂Z_i; error_i = N·∂E/∂A_i; Wi_update = ∂E/∂W_i.
        for (int i = count - 1; i >= 0; i--)
        {
            string p = prefix[i];
            string inName = p + "_in", outName = p + "_out";
            string errName = i == count - 1 ? "O_error" : p + "_error";
            string prevName = i == 0 ? "X" : prefix[i - 1] + "_out";
            if (i < count - 1)
            {
                entries.Add(new(errName, Scaled(A[i], n, errName),
                    $"{prefix[i + 1]}_delta·W{i + 2}ᵀ", $"N·∂E/∂{outName}"));
            }
            entries.Add(new(p + "_delta", Scaled(Z[i], n, p + "_delta"),
                activation[i].Delta(errName, inName, outName), $"N·∂E/∂{inName}"));
            entries.Add(new($"W{i + 1}_update", Scaled(W[i], 1, $"W{i + 1}_update"),
                $"(1/N)·{prevName}ᵀ·{p}_delta", $"∂E/∂W{i + 1}"));
            if (b[i] is { } bi)
                entries.Add(new($"b{i + 1}_update", Scaled(bi, 1, $"b{i + 1}_update"),
                    $"(1/N)·Σ_rows {p}_delta", $"∂E/∂b{i + 1}"));
        }
        return new StepTrace(entries, loss, n);
    }

    /// <summary>A private copy of a given tensor, cut off from any graph, under the trace's name.</summary>
    private static Tensor Leaf(Tensor source, string name, bool requiresGrad)
    {
        var t = source.Detach().Clone();
        t.Name = name;
        if (requiresGrad) t.RequireGrad();
        return t;
    }

    /// <summary>scale·∂E/∂t as a new named tensor (a zero gradient if no path reached t).</summary>
    private static Tensor Scaled(Tensor t, float scale, string name)
    {
        var g = t.Grad ?? Tensor.ZerosLike(t);
        Tensor r;
        using (GradMode.NoGrad()) r = scale == 1f ? g.Clone() : g * scale;
        r.Name = name;
        return r;
    }

    private static void Validate(Tensor x, Tensor y, IReadOnlyList<TraceLayer> layers)
    {
        if (layers.Count == 0) throw new ArgumentException("StepTrace: a model needs at least one layer.", nameof(layers));
        if (x.Rank != 2)
            throw new ShapeMismatchException($"StepTrace: X expected [rows, inputs] but got {Shapes.Format(x.dims)}.");
        int cols = x.dims[1];
        string prevName = "X";
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i] ?? throw new ArgumentException($"StepTrace: layer {i + 1} is null.", nameof(layers));
            var w = layer.Weight ?? throw new ArgumentException($"StepTrace: W{i + 1} is null.", nameof(layers));
            if (w.Rank != 2 || w.dims[0] != cols)
                throw new ShapeMismatchException(
                    $"StepTrace: W{i + 1} expected [{cols}, *] (its rows must match the {cols} columns of {prevName}) but got {Shapes.Format(w.dims)}.");
            int outCols = w.dims[1];
            if (layer.Bias is { } bias && !(bias.Size == outCols && (bias.Rank == 1 || (bias.Rank == 2 && bias.dims[0] == 1))))
                throw new ShapeMismatchException(
                    $"StepTrace: b{i + 1} expected [{outCols}] or [1,{outCols}] (one per column of W{i + 1}) but got {Shapes.Format(bias.dims)}.");
            cols = outCols;
            prevName = $"W{i + 1}";
        }
        if (y.Rank != 2 || y.dims[0] != x.dims[0] || y.dims[1] != cols)
            throw new ShapeMismatchException(
                $"StepTrace: Y expected [{x.dims[0]},{cols}] (X's rows × the last layer's columns) but got {Shapes.Format(y.dims)}.");
    }
}
