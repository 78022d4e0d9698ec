namespace Backprop.Kernels;

/// <summary>A kernel run at a width on fixed data of one size; its outputs (several concatenated) come back as floats.</summary>
internal sealed record KernelCase(string Name, Func<int, SimdWidth, float[]> Run)
{
    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>
/// Every SIMD kernel as a <see cref="KernelCase"/>, for <see cref="KernelSelfTest"/> and the tests. The size is the
/// length of the vectorised dimension (elements, columns, or channels), so a list of sizes reaches every tail; the
/// data depend only on the case and the size. Inputs mix signs, exact zeros (GEMV skips them; ReLU masks at them),
/// −0 and repeated values (max-pool ties).
/// </summary>
internal static class KernelCases
{
    public static IReadOnlyList<KernelCase> All { get; } =
    [
        new("dense.bias_relu", (n, w) => Rows(n, (y, b) => DenseKernels.BiasRelu(y, b, n, 0f, w))),
        new("dense.bias_leaky_relu", (n, w) => Rows(n, (y, b) => DenseKernels.BiasRelu(y, b, n, 0.1f, w))),
        new("dense.relu", (n, w) => Rows(n, (y, _) => DenseKernels.BiasRelu(y, [], n, 0f, w))),
        new("dense.leaky_relu", (n, w) => Rows(n, (y, _) => DenseKernels.BiasRelu(y, [], n, 0.2f, w))),
        new("dense.relu_backward", (n, w) => Backward(n, ActivationKind.Relu, w)),
        new("dense.leaky_relu_backward", (n, w) => Backward(n, ActivationKind.LeakyRelu, w)),
        new("dense.sigmoid_backward", (n, w) => Backward(n, ActivationKind.Sigmoid, w)),
        new("dense.tanh_backward", (n, w) => Backward(n, ActivationKind.Tanh, w)),
        new("dense.bias_gradient", (n, w) => BiasGradient(n, accumulate: false, w)),
        new("dense.bias_gradient_accumulate", (n, w) => BiasGradient(n, accumulate: true, w)),
        new("dense.gemv", Gemv),
        new("gemm.tiles", GemmTiles),
        new("optim.adam", Adam),
        new("optim.sgd_axpy", (n, w) => Map(n, 2, (d, x) => SimdDriver.Map<ScaleAddOperator>(d, x[0], x[1], -0.01f, w))),
        new("optim.adamw_decay", (n, w) => Map(n, 1, (d, x) => SimdDriver.Map<MultiplyOperator>(d, x[0], 0.999f, w))),
        new("conv.maxpool", MaxPool),
        new("conv.maxpool_backward", (n, w) => MaxPoolBackward(n, k: 2, s: 2, w)),
        new("conv.maxpool_backward_overlapping", (n, w) => MaxPoolBackward(n, k: 3, s: 2, w)),
        new("pool2d.max", (n, w) => GraphMaxPool(n, k: 2, s: 2, w)),
        new("pool2d.max_overlapping", (n, w) => GraphMaxPool(n, k: 3, s: 1, w)),
        new("pool2d.avg_stride1", (n, w) => GraphAvgPool(n, k: 2, backward: false, w)),
        new("pool2d.avg_stride1_3x3", (n, w) => GraphAvgPool(n, k: 3, backward: false, w)),
        new("pool2d.avg_stride1_backward", (n, w) => GraphAvgPool(n, k: 2, backward: true, w)),
        new("pool2d.avg_stride1_3x3_backward", (n, w) => GraphAvgPool(n, k: 3, backward: true, w)),
        new("conv.im2col", (n, w) => Im2ColRuns(n, backward: false, w)),
        new("conv.col2im", (n, w) => Im2ColRuns(n, backward: true, w)),
        new("conv.col2im_channels_last", ChannelsLastCol2Im),
        new("conv.small_forward", (n, w) => SmallConvolution(n, backward: false, w)),
        new("conv.small_weight_gradient", (n, w) => SmallConvolution(n, backward: true, w)),
        new("batchnorm.affine", (n, w) => BatchNorm(n, spatial: true, part: 0, w)),
        new("batchnorm.affine_features", (n, w) => BatchNorm(n, spatial: false, part: 0, w)),
        new("batchnorm.backward_training", (n, w) => BatchNorm(n, spatial: true, part: 1, w)),
        new("batchnorm.backward_frozen", (n, w) => BatchNorm(n, spatial: true, part: 2, w)),
        new("batchnorm.rows_sum", (n, w) => RowSums(n, deviations: false, w)),
        new("batchnorm.rows_sum_squares", (n, w) => RowSums(n, deviations: true, w)),
        new("batchnorm.rows_grad_sums", (n, w) => RowGradientSums(n, float.NaN, w)),
        new("batchnorm.rows_grad_sums_relu", (n, w) => RowGradientSums(n, 0f, w)),
        new("batchnorm.rows_grad_sums_leaky", (n, w) => RowGradientSums(n, 0.1f, w)),
        new("batchnorm.rows_normalize", (n, w) => RowNormalize(n, ActivationKind.Identity, 0f, w)),
        new("batchnorm.rows_normalize_relu", (n, w) => RowNormalize(n, ActivationKind.Relu, 0f, w)),
        new("batchnorm.rows_normalize_leaky_relu", (n, w) => RowNormalize(n, ActivationKind.LeakyRelu, 0.1f, w)),
        new("batchnorm.rows_backward", RowBackward),
        new("conv.avgpool", (n, w) => AvgPool(n, k: 2, s: 2, backward: false, w)),
        new("conv.avgpool_overlapping", (n, w) => AvgPool(n, k: 3, s: 1, backward: false, w)),
        new("conv.avgpool_backward", (n, w) => AvgPool(n, k: 2, s: 2, backward: true, w)),
        new("conv.avgpool_backward_overlapping", (n, w) => AvgPool(n, k: 3, s: 1, backward: true, w)),
        new("op.leaky_relu", (n, w) => Map(n, 1, (d, x) => SimdDriver.Map<LeakyReluOperator>(d, x[0], 0.01f, w))),
        new("op.leaky_relu_backward", (n, w) => Map(n, 2, (d, x) => SimdDriver.Map<LeakyReluBackwardOperator>(d, x[0], x[1], 0.01f, w))),
        new("op.sqrt_backward", (n, w) => Map(n, 2, (d, x) => SimdDriver.Map<SqrtBackwardOperator>(d, x[0], Positive(x[1]), w))),
        new("op.abs_backward", (n, w) => Map(n, 2, (d, x) => SimdDriver.Map<AbsBackwardOperator>(d, x[0], x[1], w))),
        new("op.clamp_backward", (n, w) => Map(n, 2, (d, x) => SimdDriver.Map<ClampBackwardOperator>(d, x[0], x[1], -0.5f, 1f, w))),
        new("op.add", (n, w) => Map(n, 2, (d, x) => SimdDriver.Map<AddOperator>(d, x[0], x[1], w))),
        new("op.silu", (n, w) => Map(n, 1, (d, x) => SimdDriver.Map<SiluOperator>(d, Spread(x[0]), w))),
        new("op.silu_backward", (n, w) => Map(n, 2, (d, x) => SimdDriver.Map<SiluBackwardOperator>(d, x[0], Spread(x[1]), w))),
        new("op.gelu_tanh", (n, w) => Map(n, 1, (d, x) => SimdDriver.Map<GeluTanhOperator>(d, Spread(x[0]), w))),
        new("op.gelu_tanh_backward", (n, w) => Map(n, 2, (d, x) => SimdDriver.Map<GeluTanhBackwardOperator>(d, x[0], Spread(x[1]), w))),
        new("op.gelu", (n, w) => Map(n, 1, (d, x) => SimdDriver.Map<GeluOperator>(d, Spread(x[0]), w))),
        new("op.gelu_backward", (n, w) => Map(n, 2, (d, x) => SimdDriver.Map<GeluBackwardOperator>(d, x[0], Spread(x[1]), w))),
        new("op.multiply_add", (n, w) => Map(n, 3, (d, x) => SimdDriver.Map<MultiplyAddOperator>(d, x[0], x[1], x[2], w))),
        new("op.tanh", (n, w) => Map(n, 1, (d, x) => SimdDriver.Map<TanhOperator>(d, Spread(x[0]), w))),
        new("recurrent.rnn_tanh", (n, w) => Cell(n, RecurrentCell.RnnTanh, w)),
        new("recurrent.rnn_tanh_backward", (n, w) => CellBackward(n, RecurrentCell.RnnTanh, w)),
        new("recurrent.rnn_relu", (n, w) => Cell(n, RecurrentCell.RnnRelu, w)),
        new("recurrent.rnn_relu_backward", (n, w) => CellBackward(n, RecurrentCell.RnnRelu, w)),
        new("recurrent.lstm", (n, w) => Cell(n, RecurrentCell.Lstm, w)),
        new("recurrent.lstm_backward", (n, w) => CellBackward(n, RecurrentCell.Lstm, w)),
        new("recurrent.gru", (n, w) => Cell(n, RecurrentCell.Gru, w)),
        new("recurrent.gru_backward", (n, w) => CellBackward(n, RecurrentCell.Gru, w)),
    ];

    /// <summary>
    /// n values from a fixed seed: uniform in (−2, 2), with every 7th an exact 0, every 11th −0, and every 5th a repeat
    /// of a small set (so comparisons see ties).
    /// </summary>
    public static float[] Data(int seed, int n)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (float)(rng.NextDouble() * 4 - 2);
            int pick = rng.Next(77);
            if (pick % 7 == 0) v[i] = 0f;
            else if (pick % 11 == 0) v[i] = -0f;
            else if (pick % 5 == 0) v[i] = (pick % 3) * 0.5f;
        }
        return v;
    }

    private static float[] Positive(float[] v)
    {
        for (int i = 0; i < v.Length; i++) v[i] = MathF.Abs(v[i]) + 0.25f;
        return v;
    }

    // Widens some of the values in [−2, 2] to [−48, 48] and puts ±95 among them, so that exp-based kernels reach both
    // tails and e^x's clamps (e^x overflows above 88.4 and is subnormal below −87.3).
    private static float[] Spread(float[] v)
    {
        for (int i = 0; i < v.Length; i++)
            v[i] = i % 13 == 5 ? (i % 2 == 0 ? 95f : -95f) : i % 3 == 0 ? v[i] * 24f : v[i];
        return v;
    }

    // d = f(x₀, …) over `inputs` arrays of n values; returns d.
    private static float[] Map(int n, int inputs, Action<float[], float[][]> run)
    {
        var x = new float[inputs][];
        for (int i = 0; i < inputs; i++) x[i] = Data(n * 31 + i, n);
        var d = new float[n];
        run(d, x);
        return d;
    }

    // One step of a recurrent cell of hidden size n: pre-activations [G·n] spread to reach σ's and tanh's tails and
    // e^x's clamps, h₋ and c₋ [n]. Returns h, c, acts [G·n] and hpn (all four for every cell; those it does not
    // write stay 0).
    private static float[] Cell(int n, RecurrentCell cell, SimdWidth w)
    {
        var (h, c, acts, hpn) = CellForward(n, cell, w);
        return [.. h, .. c, .. acts, .. hpn];
    }

    private static (float[] H, float[] C, float[] Acts, float[] Hpn) CellForward(int n, RecurrentCell cell, SimdWidth w)
    {
        int gn = RecurrentKernels.Gates(cell) * n;
        var (h, c, acts, hpn) = (new float[n], new float[n], new float[gn], new float[n]);
        RecurrentKernels.Step(cell, h, c, acts, hpn, Spread(Data(n, gn)), Spread(Data(n + 1, gn)), Data(n + 2, n), Spread(Data(n + 3, n)), n, w);
        return (h, c, acts, hpn);
    }

    // The backward of that step (its saved values from the scalar forward), with dh and dc as inputs. Returns dxp,
    // dhp [G·n], the direct part of ∂L/∂h₋ (written over values already there, or cleared) and dc₋.
    private static float[] CellBackward(int n, RecurrentCell cell, SimdWidth w)
    {
        int gn = RecurrentKernels.Gates(cell) * n;
        var (h, c, acts, hpn) = CellForward(n, cell, SimdWidth.Scalar);
        var (dxp, dhp, direct, dcPrev) = (new float[gn], new float[gn], Data(n + 4, n), new float[n]);
        RecurrentKernels.StepBackward(cell, dxp, dhp, direct, dcPrev, Data(n + 5, n), Data(n + 6, n), h, c, Spread(Data(n + 3, n)),
            Data(n + 2, n), acts, hpn, n, w);
        return [.. dxp, .. dhp, .. direct, .. dcPrev];
    }

    // A block of 3 rows of n columns and a bias of n, changed in place.
    private static float[] Rows(int n, Action<float[], float[]> run)
    {
        var y = Data(n, 3 * n);
        run(y, Data(n + 1, n));
        return y;
    }

    private static float[] Backward(int n, ActivationKind act, SimdWidth w)
    {
        var dy = Data(n, n);
        var y = Data(n + 1, n);
        if (act == ActivationKind.Sigmoid) for (int i = 0; i < n; i++) y[i] = 1f / (1f + MathF.Exp(-y[i]));
        else if (act == ActivationKind.Tanh) for (int i = 0; i < n; i++) y[i] = MathF.Tanh(y[i]);
        var dz = new float[n];
        DenseKernels.ActivationBackward(dz, dy, y, n, act, 0.1f, w);
        return dz;
    }

    // Column sums over 1 to 9 rows of n columns.
    private static float[] BiasGradient(int n, bool accumulate, SimdWidth w)
    {
        int rows = 1 + n % 9;
        var db = Data(n + 2, n);
        DenseKernels.BiasGradient(db, Data(n, rows * n), rows, n, accumulate, w);
        return db;
    }

    // y[n] = x[37]·W[37, n], with every 4th input 0.
    private static float[] Gemv(int n, SimdWidth w)
    {
        const int k = 37;
        var x = Data(n + 5, k);
        for (int i = 0; i < k; i += 4) x[i] = 0f;
        var y = Data(n + 6, n);
        DenseKernels.Gemv(y, x, Data(n, k * n), k, n, w);
        return y;
    }

    // C = A·B + C through the width's GEMM micro-kernels on packed panels (the scalar 4×4 tile at Scalar), n columns (a
    // partial last column strip at most sizes), at heights that take every cover of the rows: short tiles only (3, 8),
    // tall and short ones (22, 32; 32 = 14·2 + 4 on the 14-row tile), a padded tall tile (45); k across two blocks.
    private static float[] GemmTiles(int n, SimdWidth w)
    {
        const int k = 520;   // two k-blocks of 260 (GemmDriver.KC = 512)
        var outputs = new List<float>();
        foreach (int m in new[] { 3, 8, 22, 32, 45 })
        {
            var c = Data(m * n + 7, m * n);
            Gemm.Multiply(GemmSelector.FromWidth(w), 1, c, Data(m * k, m * k), Data(k * n + 3, k * n), m, n, k, false, false, true, packedOnly: true);
            outputs.AddRange(c);
        }
        return [.. outputs];
    }

    // Three Adam steps with an L2 penalty; returns w, m and v.
    private static float[] Adam(int n, SimdWidth w)
    {
        var weights = Data(n, n);
        var m = new float[n];
        var v = new float[n];
        for (int t = 1; t <= 3; t++)
            Optim.Adam.Apply(weights, Data(n * 3 + t, n), m, v, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.01f, t, w);
        return [.. weights, .. m, .. v];
    }

    // 2×2 windows, stride 2, over 2 images of 5×5 pixels with n channels (the last row and column uncovered).
    private static float[] MaxPool(int n, SimdWidth w)
    {
        const int images = 2, h = 5, k = 2, s = 2, out1 = (h - k) / s + 1;
        int size = images * out1 * out1 * n;
        var y = new float[size];
        var arg = new int[size];
        ChannelsLast.MaxPool(y, arg, Data(n, images * h * h * n), images, h, h, n, k, s, w);
        return [.. y, .. arg.Select(a => (float)a)];
    }

    private static float[] MaxPoolBackward(int n, int k, int s, SimdWidth w)
    {
        const int images = 2, h = 5;
        int o = (h - k) / s + 1, size = images * o * o * n;
        var arg = new int[size];
        var rng = new Random(n);
        for (int i = 0; i < size; i++) arg[i] = rng.Next(k * k);
        var dx = Data(n + 3, images * h * h * n);   // overwritten, including what no window covers
        ChannelsLast.MaxPoolBackward(dx, Data(n, size), arg, images, h, h, n, k, s, w);
        return dx;
    }

    // Planes [2, 2, 5, n + 3] (NCHW) pooled by the graph's kernel: rows of n + 3 pixels.
    private static float[] GraphMaxPool(int n, int k, int s, SimdWidth w)
    {
        var g = new ConvGeometry(2, 2, 5, n + 3, k, k, s, 0);
        var y = new float[g.N * g.C * g.P];
        Pool2dKernels.MaxForward(y, Data(n, g.N * g.ImageSize), g, w);
        return y;
    }

    // Planes [2, 2, 5, n + 3] (NCHW) average-pooled with stride 1 by the graph's kernel, or its backward (adding into dx).
    private static float[] GraphAvgPool(int n, int k, bool backward, SimdWidth w)
    {
        var g = new ConvGeometry(2, 2, 5, n + 3, k, k, 1, 0);
        int pooled = g.N * g.C * g.P;
        if (!backward)
        {
            var y = new float[pooled];
            Pool2dKernels.AvgForward(y, Data(n, g.N * g.ImageSize), g, w);
            return y;
        }
        var dx = Data(n + 1, g.N * g.ImageSize);
        Pool2dKernels.AvgBackward(dx, Data(n, pooled), g, w);
        return dx;
    }

    // The channels-last adjoint of im2col for 2 images [3, 4, n] with a 3×3 kernel, stride 1, padding 1.
    private static float[] ChannelsLastCol2Im(int n, SimdWidth w)
    {
        var g = new ConvGeometry(2, n, 3, 4, 3, 3, 1, 1);
        var dx = Data(n + 1, g.N * g.ImageSize);   // overwritten
        ChannelsLast.Col2Im(dx, Data(n, g.N * g.P * g.K), g, w);
        return dx;
    }

    // n output channels from 2 images [5, 6, 3] (a colour image: fan-in 27), 3×3 kernel, stride 2, padding 1: the direct
    // small-fan-in convolution's forward, or its weight gradient.
    private static float[] SmallConvolution(int n, bool backward, SimdWidth w)
    {
        var g = new ConvGeometry(2, 3, 5, 6, 3, 3, 2, 1);
        var x = Data(n + 2, g.N * g.ImageSize);
        if (!backward)
        {
            var y = Data(n + 3, g.N * g.P * n);   // overwritten
            SmallConv.Forward(y, x, g, Data(n, g.K * n), n, w);
            return y;
        }
        var dw = Data(n + 3, g.K * n);   // overwritten
        SmallConv.WeightGradient(dw, x, g, Data(n, g.N * g.P * n), n, w);
        return dw;
    }

    // One image [2, 3, n] with a 3×3 kernel, stride 1, padding 1: runs of n values (the graph convolution's im2col).
    private static float[] Im2ColRuns(int n, bool backward, SimdWidth w)
    {
        var g = new ConvGeometry(1, 2, 3, Math.Max(n, 1), 3, 3, 1, 1);
        var scratch = new float[Im2Col.ScratchSize(g)];
        if (!backward)
        {
            var col = new float[g.K * g.P];
            Im2Col.Forward(col, Data(n, g.ImageSize), scratch, g, w);
            return col;
        }
        var dx = Data(n + 1, g.ImageSize);
        Im2Col.Backward(dx, Data(n, g.K * g.P), scratch, g, w);
        return dx;
    }

    // x [2, 3, n] (3 channels of n positions) or features [2, n] (S = 1). Part 0: affine; 1: training backward; 2: frozen backward.
    private static float[] BatchNorm(int n, bool spatial, int part, SimdWidth w)
    {
        int batch = 2, c = spatial ? 3 : n, s = spatial ? n : 1, size = batch * c * s;
        var x = Data(n, size);
        var g = Data(n + 1, size);
        var a = Data(n + 2, c);
        var b = Data(n + 3, c);
        var invStd = Positive(Data(n + 4, c));
        var y = new float[size];
        switch (part)
        {
            case 0:
                BatchNormKernels.Affine(y, x, a, b, batch, c, s, w);
                break;
            case 1:
                BatchNormKernels.BackwardTraining(y, g, x, a, invStd, b, Data(n + 5, c), Data(n + 6, c), batch, c, s, w);
                break;
            default:
                BatchNormKernels.BackwardFrozen(y, g, invStd, a, batch, c, s, w);
                break;
        }
        return y;
    }

    // A double's bits as two floats, so that sums kept in double are compared bit for bit too.
    private static float[] Bits(ReadOnlySpan<double> values)
    {
        var bits = new float[2 * values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            long b = BitConverter.DoubleToInt64Bits(values[i]);
            bits[2 * i] = BitConverter.Int32BitsToSingle((int)b);
            bits[2 * i + 1] = BitConverter.Int32BitsToSingle((int)(b >> 32));
        }
        return bits;
    }

    private static double[] Doubles(float[] v) => [.. v.Select(f => (double)f)];

    // Column sums (or squared deviations from a mean) in double over 1 to 9 rows of n channels, added to sums already there.
    private static float[] RowSums(int n, bool deviations, SimdWidth w)
    {
        int rows = 1 + n % 9;
        var x = Data(n, rows * n);
        var sums = Doubles(Data(n + 1, n));
        if (deviations) BatchNormRows.SumSquaredDeviations(sums, x, Doubles(Data(n + 2, n)), rows, n, w);
        else BatchNormRows.SumColumns(sums, x, rows, n, w);
        return Bits(sums);
    }

    // Σ g and Σ g·(x − μ) over 1 to 9 rows of n channels, g gated by a fused (leaky) ReLU unless the slope is NaN; returns g and both sums.
    private static float[] RowGradientSums(int n, float slope, SimdWidth w)
    {
        int rows = 1 + n % 9;
        var g = Data(n, rows * n);
        var sumG = Doubles(Data(n + 4, n));
        var sumGx = Doubles(Data(n + 5, n));
        BatchNormRows.SumGradients(sumG, sumGx, g, Data(n + 1, rows * n), slope, Data(n + 2, rows * n), Data(n + 3, n), rows, n, w);
        return [.. g, .. Bits(sumG), .. Bits(sumGx)];
    }

    // act(x·scale + shift) over 3 rows of n channels.
    private static float[] RowNormalize(int n, ActivationKind act, float slope, SimdWidth w)
    {
        var y = new float[3 * n];
        BatchNormRows.Normalize(y, Data(n, 3 * n), Data(n + 1, n), Data(n + 2, n), 3, n, act, slope, w);
        return y;
    }

    // dx = k·(g − dβ/M − s·(x − μ)) over 3 rows of n channels.
    private static float[] RowBackward(int n, SimdWidth w)
    {
        var dx = new float[3 * n];
        BatchNormRows.BackwardRows(dx, Data(n, 3 * n), Data(n + 1, 3 * n), Data(n + 2, n), Data(n + 3, 3 * n), 3, n, w);
        return dx;
    }

    // Average pooling of 2 channels-last images of 5×5 pixels with n channels, or its backward (which overwrites dx).
    private static float[] AvgPool(int n, int k, int s, bool backward, SimdWidth w)
    {
        const int images = 2, h = 5;
        int o = (h - k) / s + 1, pooled = images * o * o * n, size = images * h * h * n;
        if (!backward)
        {
            var y = new float[pooled];
            ChannelsLastAvgPool.Forward(y, Data(n, size), images, h, h, n, k, s, w);
            return y;
        }
        var dx = Data(n + 1, size);
        ChannelsLastAvgPool.Backward(dx, Data(n, pooled), images, h, h, n, k, s, w);
        return dx;
    }
}
