using Backprop.Nn;

namespace Backprop.Explain;

// The standard suite: every differentiable op, its broadcasting variants, every loss and two small models, each with
// inputs placed at least 0.15 from the op's kinks (relu/abs at 0, clamp bounds, max ties) — further than the step h.
public static partial class GradCheck
{
    /// <summary>
    /// Tolerance of ops that are linear or nearly so (add, mul, shape ops, reductions, relu, sigmoid, ...): measured
    /// worst errors with h = 1e-2 are at most 2e-4 (float32 rounding of L divided by 2h), so 1e-3 keeps a 5× margin
    /// and still catches a gradient off by 0.1%.
    /// </summary>
    private const double Tight = 1e-3;

    /// <summary>
    /// Tolerance where f‴ is large (div, pow, exp, log, sqrt, softmax) or a perturbed element feeds many float32
    /// outputs (matmul, the model): measured worst errors reach 1.2e-3 (log_softmax along axis 2, matmul 3-D·2-D on
    /// a gradient of 0.04), so 1e-2; a gradient off by a factor still fails by far.
    /// </summary>
    private const double Loose = 1e-2;

    /// <summary>Runs <see cref="StandardSuite"/> with the given options (default: <see cref="GradCheckOptions.Default"/>).</summary>
    public static IReadOnlyList<GradCheckOutcome> RunSuite(GradCheckOptions? options = null) =>
        StandardSuite().Select(c => c.Run(options)).ToList();

    /// <summary>
    /// Named checks covering every differentiable op (with broadcasting, reductions along each axis, softmax along
    /// each axis of a 3-D tensor, the three matmul forms, shape ops, convolution and pooling) and a two-layer network
    /// in the seeds' form (X·W1 → sigmoid → ·W2 → sigmoid → half-MSE), every loss of <see cref="Losses"/> and their
    /// options (weights, label smoothing, ignored rows, reductions; the fused ones have hand-written backward passes), Sequential(Dense, Tanh, Dense) and a small CNN with cross-entropy,
    /// batch norm (training and evaluation) and dropout. Each case has fresh, seeded inputs.
    /// </summary>
    public static IReadOnlyList<GradCheckCase> StandardSuite()
    {
        var s = new List<GradCheckCase>();
        void Add(string name, double tol, Func<Tensor[], Tensor> f, params Tensor[] inputs) => s.Add(new(name, tol, f, inputs));
        int seed = 100;
        Tensor N(params int[] shape) => Tensor.RandomNormal(shape, seed++);
        Tensor P(params int[] shape) => Tensor.RandomUniform(shape, seed++, 0.5f, 2f);
        Tensor A(params int[] shape) => AwayFromZero(shape, seed++);
        Tensor D(params int[] shape) => Distinct(shape, seed++);

        Add("add", Tight, x => x[0] + x[1], N(3, 4), N(3, 4));
        Add("add [3,4]+[4]", Tight, x => x[0] + x[1], N(3, 4), N(4));
        Add("add [3,1]+[1,4]", Tight, x => x[0] + x[1], N(3, 1), N(1, 4));
        Add("add scalar+[2,3]", Tight, x => x[0] + x[1], N(), N(2, 3));
        Add("add [2,1,4]+[3,1]", Tight, x => x[0] + x[1], N(2, 1, 4), N(3, 1));
        Add("add float", Tight, x => x[0] + 2.5f, N(2, 3));
        Add("sub", Tight, x => x[0] - x[1], N(3, 4), N(3, 4));
        Add("sub [3,4]-[4]", Tight, x => x[0] - x[1], N(3, 4), N(4));
        Add("sub float-[2,3]", Tight, x => 1.5f - x[0], N(2, 3));
        Add("mul", Tight, x => x[0] * x[1], N(3, 4), N(3, 4));
        Add("mul [3,1]*[1,4]", Tight, x => x[0] * x[1], N(3, 1), N(1, 4));
        Add("mul [2,3]*scalar", Tight, x => x[0] * x[1], N(2, 3), N());
        Add("div", Loose, x => x[0] / x[1], N(3, 4), Signed(P(3, 4), seed++));
        Add("div [3,4]/[4]", Loose, x => x[0] / x[1], N(3, 4), Signed(P(4), seed++));
        Add("div float/[2,3]", Loose, x => 2f / x[0], Signed(P(2, 3), seed++));
        Add("neg", Tight, x => -x[0], N(3, 4));
        Add("maximum", Tight, x => Tensor.Maximum(x[0], x[1]), Split(D(2, 6), out var other), other);
        Add("maximum [3,4],[4]", Tight, x => Tensor.Maximum(x[0], x[1]), D(3, 4), D(4) * 1.3f);
        Add("pow tensor", Loose, x => x[0].Pow(x[1]), P(3, 4), N(3, 4));
        Add("pow tensor [3,4]^[4]", Loose, x => x[0].Pow(x[1]), P(3, 4), N(4));
        Add("pow 3", Loose, x => x[0].Pow(3f), N(3, 4));
        Add("pow -1.5", Loose, x => x[0].Pow(-1.5f), P(3, 4));
        Add("square", Tight, x => x[0].Square(), N(3, 4));
        Add("exp", Loose, x => x[0].Exp(), N(2, 3, 4));
        Add("log", Loose, x => x[0].Log(), P(3, 4));
        Add("sqrt", Loose, x => x[0].Sqrt(), P(3, 4));
        Add("abs", Tight, x => x[0].Abs(), A(3, 4));
        Add("clamp", Tight, x => x[0].Clamp(-0.5f, 0.7f), Clampable(A(3, 4), -0.5f, 0.7f));
        Add("sigmoid", Tight, x => x[0].Sigmoid(), N(3, 4));
        Add("tanh", Tight, x => x[0].Tanh(), N(3, 4));
        Add("relu", Tight, x => x[0].Relu(), A(3, 4));
        Add("leaky_relu 0.2", Tight, x => x[0].LeakyRelu(0.2f), A(3, 4));
        Add("sum", Tight, x => x[0].Sum(), N(2, 3, 4));
        Add("mean", Tight, x => x[0].Mean(), N(2, 3, 4));
        Add("max", Tight, x => x[0].Max(), D(2, 3, 4));
        for (int axis = 0; axis < 3; axis++)
        {
            int ax = axis;
            Add($"sum axis {ax}", Tight, x => x[0].Sum(ax), N(2, 3, 4));
            Add($"mean axis {ax} keepdim", Tight, x => x[0].Mean(ax, keepDim: true), N(2, 3, 4));
            Add($"max axis {ax}", Tight, x => x[0].Max(ax), D(2, 3, 4));
            Add($"softmax axis {ax}", Loose, x => x[0].Softmax(ax), N(2, 3, 4));
            Add($"log_softmax axis {ax}", Loose, x => x[0].LogSoftmax(ax), N(2, 3, 4));
        }
        Add("matmul [3,4]·[4,5]", Loose, x => x[0].MatMul(x[1]), N(3, 4), N(4, 5));
        Add("matmul [2,3,4]·[2,4,5]", Loose, x => x[0].MatMul(x[1]), N(2, 3, 4), N(2, 4, 5));
        Add("matmul [2,3,4]·[4,5]", Loose, x => x[0].MatMul(x[1]), N(2, 3, 4), N(4, 5));
        Add("reshape", Tight, x => x[0].Reshape(4, -1) * x[1], N(2, 3, 4), N(4, 6));
        Add("flatten", Tight, x => x[0].Flatten(), N(2, 3, 4));
        Add("T", Tight, x => x[0].T(), N(3, 5));
        Add("transpose 0,2", Tight, x => x[0].Transpose(0, 2), N(2, 3, 4));
        Add("permute 2,0,1", Tight, x => x[0].Permute(2, 0, 1), N(2, 3, 4));
        Add("rows", Tight, x => x[0].Rows([3, 0, 3, 4]), N(5, 3));
        Add("slice", Tight, x => x[0].Slice(1, 3), N(5, 3));
        Add("x*x+x (used twice)", Tight, x => x[0] * x[0] + x[0], N(3, 4));
        Add("conv2d k3 s1 pad 1 + bias", Loose, x => x[0].Conv2d(x[1], x[2], 1, 1), N(2, 2, 5, 6), N(3, 2, 3, 3), N(3));
        Add("conv2d k3 s2 pad 0, 7×6", Loose, x => x[0].Conv2d(x[1], null, 2, 0), N(1, 2, 7, 6), N(2, 2, 3, 3));
        Add("conv2d k1×2 s1 pad 2", Loose, x => x[0].Conv2d(x[1], x[2], 1, 2), N(2, 3, 3, 4), N(2, 3, 1, 2), N(2));
        Add("max_pool2d k2 s2", Tight, x => x[0].MaxPool2d(2, 2), D(2, 2, 4, 6));
        Add("max_pool2d k3 s1 (overlapping)", Tight, x => x[0].MaxPool2d(3, 1), D(1, 2, 5, 5));
        Add("avg_pool2d k2 s2", Tight, x => x[0].AvgPool2d(2, 2), N(2, 2, 4, 6));
        Add("avg_pool2d k3 s2 (overlapping)", Tight, x => x[0].AvgPool2d(3, 2), N(1, 2, 7, 7));
        AddTwoLayerNetwork(Add, seed++);
        AddLosses(Add, ref seed);
        AddDenseTanhDenseWithCrossEntropy(Add, seed++);
        AddSmallCnnWithCrossEntropy(Add, seed++);
        AddNormalization(Add, ref seed);
        AddSequenceLayers(Add, seed++);
        AddMoreLosses(Add, 900);
        return s;
    }

    /// <summary>The seeds' network: O = σ(σ(X·W1)·W2), L = Σ(O − Y)² / (2·size), X [3,4], W1 [4,2], W2 [2,3].</summary>
    private static void AddTwoLayerNetwork(Action<string, double, Func<Tensor[], Tensor>, Tensor[]> add, int seed)
    {
        var x = Tensor.RandomUniform([3, 4], seed, 0f, 6f);
        var y = Tensor.Eye(3);
        var w1 = Tensor.RandomNormal([4, 2], seed + 1, std: 0.5f);
        var w2 = Tensor.RandomNormal([2, 3], seed + 2, std: 0.5f);
        add("2-layer sigmoid network, half-MSE", Loose, p =>
        {
            var o = x.MatMul(p[0]).Sigmoid().MatMul(p[1]).Sigmoid();
            return (o - y).Square().Sum() / (2f * o.Size);
        }, [w1, w2]);
    }

    /// <summary>
    /// Each loss with respect to its prediction (targets fixed), and the fused losses also with respect to soft
    /// targets, which they differentiate by hand too. All Loose: a loss is a float32 mean, so L carries rounding of
    /// ~5e-7 (≈ 2e-5 after dividing by 2h) while its gradients are only ~1/N (measured worst 2.4e-3, MSE).
    /// </summary>
    private static void AddLosses(Action<string, double, Func<Tensor[], Tensor>, Tensor[]> add, ref int seed)
    {
        var y = Tensor.RandomNormal([3, 4], seed++);
        var labels = Tensor.RandomUniform([3, 4], seed++).AsSpan().ToArray().Select(v => v < 0.5f ? 0f : 1f).ToArray();
        var binary = Tensor.FromArray(labels, 3, 4);
        var soft = Tensor.RandomUniform([3, 4], seed++, 0.1f, 0.9f);
        var classes = Tensor.FromArray([2f, 0f, 3f], 3);
        var rows = Tensor.RandomUniform([3, 4], seed++, 0.1f, 1f);
        rows = rows / rows.Sum(1, keepDim: true);   // probability rows

        add("loss mse", Loose, p => Losses.MSE.Compute(p[0], y), [Tensor.RandomNormal([3, 4], seed++)]);
        add("loss half_mse", Loose, p => Losses.HalfMSE.Compute(p[0], y), [Tensor.RandomNormal([3, 4], seed++)]);
        add("loss bce", Loose, p => Losses.BinaryCrossEntropy.Compute(p[0], binary),
            [Tensor.RandomUniform([3, 4], seed++, 0.1f, 0.9f)]);
        add("loss bce_logits", Loose, p => Losses.BinaryCrossEntropyWithLogits.Compute(p[0], binary),
            [Tensor.RandomNormal([3, 4], seed++, std: 2f)]);
        add("loss bce_logits ∂/∂target", Loose, p => Losses.BinaryCrossEntropyWithLogits.Compute(p[0], p[1]),
            [Tensor.RandomNormal([3, 4], seed++, std: 2f), soft]);
        add("loss cross_entropy (class indices)", Loose, p => Losses.CrossEntropy.Compute(p[0], classes),
            [Tensor.RandomNormal([3, 4], seed++, std: 2f)]);
        add("loss cross_entropy ∂/∂probability rows", Loose, p => Losses.CrossEntropy.Compute(p[0], p[1]),
            [Tensor.RandomNormal([3, 4], seed++, std: 2f), rows]);
    }

    /// <summary>Sequential(Dense(4→5), Tanh, Dense(5→3)) on a batch of 6, cross-entropy on class indices.</summary>
    private static void AddDenseTanhDenseWithCrossEntropy(Action<string, double, Func<Tensor[], Tensor>, Tensor[]> add, int seed)
    {
        var rng = new Rng(seed);
        var model = new Sequential(new Dense(4, 5, rng: rng), new Tanh(), new Dense(5, 3, rng: rng));
        var x = Tensor.RandomNormal([6, 4], rng);
        var labels = Tensor.FromArray([0f, 2f, 1f, 1f, 0f, 2f], 6);
        // The parameters are the checked inputs; the model reads them itself, so f ignores its argument.
        add("Sequential(Dense, Tanh, Dense), cross-entropy", Loose, _ => Losses.CrossEntropy.Compute(model.Forward(x), labels),
            [.. model.Parameters()]);
    }

    /// <summary>
    /// BatchNorm's fused backward in training mode (through the batch statistics) for [N, F] and [N, C, H, W], and in
    /// evaluation mode (running statistics fixed), each with respect to x, γ and β; and dropout, whose mask is fixed
    /// by giving every evaluation of f a generator with the same seed. Training cases are Loose: x̂ divides by a σ
    /// computed from the very values being perturbed, so L curves (measured worst 1.4e-3, [2,3,3,2]); evaluation
    /// (linear in x, measured 1.3e-5) and dropout (linear, 3.5e-7) are Tight.
    /// </summary>
    private static void AddNormalization(Action<string, double, Func<Tensor[], Tensor>, Tensor[]> add, ref int seed)
    {
        Tensor Gamma(int c, int s) => Tensor.RandomUniform([c], s, 0.5f, 2f);
        add("batch_norm [6,4] training", Loose, p => Tensor.BatchNorm(p[0], null, null, p[1], p[2], training: true),
            [Tensor.RandomNormal([6, 4], seed++, mean: 1f, std: 2f), Gamma(4, seed++), Tensor.RandomNormal([4], seed++)]);
        add("batch_norm [2,3,3,2] training", Loose, p => Tensor.BatchNorm(p[0], null, null, p[1], p[2], training: true),
            [Tensor.RandomNormal([2, 3, 3, 2], seed++), Gamma(3, seed++), Tensor.RandomNormal([3], seed++)]);
        var runningMean = Tensor.RandomNormal([3], seed++);
        var runningVar = Tensor.RandomUniform([3], seed++, 0.5f, 2f);
        add("batch_norm [4,3] evaluation", Tight, p => Tensor.BatchNorm(p[0], runningMean, runningVar, p[1], p[2], training: false),
            [Tensor.RandomNormal([4, 3], seed++), Gamma(3, seed++), Tensor.RandomNormal([3], seed++)]);
        int maskSeed = seed++;
        add("dropout p=0.4 (fixed mask)", Tight, p => p[0].Dropout(0.4f, new Rng(maskSeed)), [Tensor.RandomNormal([5, 6], seed++)]);
    }

    /// <summary>
    /// Sequential(Conv2d(1→2, 3×3, pad 1), Tanh, AvgPool2d(2), Flatten, Dense(18→3)) on [4, 1, 6, 6], cross-entropy.
    /// Tanh and average pooling rather than ReLU and max pooling: a step of h could cross a kink or swap a window's
    /// winner somewhere among the parameters' effects; the max gate has its own cases above.
    /// </summary>
    private static void AddSmallCnnWithCrossEntropy(Action<string, double, Func<Tensor[], Tensor>, Tensor[]> add, int seed)
    {
        var rng = new Rng(seed);
        var model = new Sequential(new Conv2d(1, 2, 3, padding: 1, rng: rng), new Tanh(), new AvgPool2d(2), new Flatten(), new Dense(18, 3, rng: rng));
        var x = Tensor.RandomNormal([4, 1, 6, 6], rng);
        var labels = Tensor.FromArray([0f, 2f, 1f, 2f], 4);
        add("Sequential(Conv2d, Tanh, AvgPool2d, Flatten, Dense), cross-entropy", Loose,
            _ => Losses.CrossEntropy.Compute(model.Forward(x), labels), [.. model.Parameters()]);
    }

    /// <summary>|x| in [0.2, 1.5) with a random sign: at least 0.2 from the kink at 0.</summary>
    private static Tensor AwayFromZero(int[] shape, int seed) => Signed(Tensor.RandomUniform(shape, seed, 0.2f, 1.5f), seed + 7919);

    /// <summary>Flips the sign of about half the elements, in place.</summary>
    private static Tensor Signed(Tensor t, int seed)
    {
        var rng = new Rng(seed);
        var d = t.AsSpan();
        for (int i = 0; i < d.Length; i++) if (rng.NextFloat() < 0.5f) d[i] = -d[i];
        return t;
    }

    /// <summary>Values 0.25 apart (±0.05) in random order: any two differ by at least 0.15, so max has no ties.</summary>
    private static Tensor Distinct(int[] shape, int seed)
    {
        var rng = new Rng(seed);
        var t = Tensor.Zeros(shape);
        var d = t.AsSpan();
        var perm = rng.Permutation(d.Length);
        for (int i = 0; i < d.Length; i++) d[i] = (perm[i] - d.Length / 2f) * 0.25f + (rng.NextFloat() - 0.5f) * 0.1f;
        return t;
    }

    /// <summary>Splits 2n distinct values into two [3, n/3] tensors: maximum then never meets a tie.</summary>
    private static Tensor Split(Tensor pair, out Tensor second)
    {
        int n = pair.Size / 2;
        second = Tensor.FromArray(pair.AsSpan()[n..].ToArray(), 3, n / 3);
        return Tensor.FromArray(pair.AsSpan()[..n].ToArray(), 3, n / 3);
    }

    /// <summary>Moves elements within 0.15 of a clamp bound 0.3 away from it.</summary>
    private static Tensor Clampable(Tensor t, float min, float max)
    {
        var d = t.AsSpan();
        foreach (var b in (ReadOnlySpan<float>)[min, max])
            for (int i = 0; i < d.Length; i++)
                if (MathF.Abs(d[i] - b) < 0.15f) d[i] += d[i] >= b ? 0.3f : -0.3f;
        return t;
    }
}
