using System.Text.Json.Nodes;
using Backprop.Kernels;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Tests.Nn;

/// <summary>
/// The graph-free plan against the autograd forward pass (in an <see cref="InferenceMode"/> scope) for several architectures and
/// batches; allocation per call; live weights; error messages; and the GEMV's vector path against its scalar twin.
/// </summary>
public sealed class InferencePlanTests
{
    // The graph's evaluation-mode forward pass: what the plan must reproduce (Predict itself now runs the plan).
    internal static Tensor Graph(Module model, Tensor x)
    {
        using (InferenceMode.Enter()) return model.Forward(x);
    }

    public static TheoryData<string, int> Architectures() => new()
    {
        { "relu", 1 }, { "relu", 5 }, { "tanh", 1 }, { "tanh", 3 }, { "sigmoid", 1 }, { "sigmoid", 7 },
        { "leaky_relu:0.2", 1 }, { "leaky_relu:0.2", 4 }, { "softmax-out", 1 }, { "softmax-out", 6 },
        { "nested", 1 }, { "nested", 9 }, { "mnist", 1 }, { "mnist", 2 },
    };

    // Widths chosen to hit every GEMV path: 128-column register blocks, single vectors, and scalar tails.
    private static Sequential Build(string name) => name switch
    {
        "softmax-out" => Mlp.Create(20, [37, 16], 10, "relu", "softmax", rng: new Rng(3)),
        "nested" => new Sequential(
            new Sequential(new Dense(13, 150, rng: new Rng(4)), new Tanh()),
            new Identity(),
            new Sequential(new Sequential(new Dense(150, 33, bias: false, rng: new Rng(5))), new Relu(), new Sigmoid()),
            new Dense(33, 3, rng: new Rng(6))),
        "mnist" => Mlp.Create(784, [256, 128], 10, "relu", rng: new Rng(1)),
        _ => Mlp.Create(11, [130, 17], 5, name, rng: new Rng(2)),
    };

    [Theory]
    [MemberData(nameof(Architectures))]
    public void MatchesPredict(string name, int batch)
    {
        var model = Build(name);
        var plan = InferencePlan.Create(model, maxBatch: 10);
        var x = Tensor.RandomNormal([batch, plan.InFeatures], new Rng(10 + batch));
        // Zero some inputs, as ReLU and MNIST pixels do, so the GEMV's skip is exercised.
        var xs = x.AsSpan();
        for (int i = 0; i < xs.Length; i += 3) xs[i] = 0f;

        var expected = Graph(model, x).ToArray();
        var actual = plan.Run(x.AsSpan(), batch).ToArray();
        var viaOutput = new float[batch * plan.OutFeatures];
        plan.Run(x.AsSpan(), viaOutput, batch);

        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-6f * Math.Max(1f, Math.Abs(expected[i])),
                $"{name} batch {batch}: output {i} is {actual[i]} but Predict gives {expected[i]}.");
            Assert.Equal(actual[i], viaOutput[i]);
        }
    }

    [Fact]
    public void AllocatesNothingPerCall()
    {
        var model = Build("mnist");
        var plan = InferencePlan.Create(model, maxBatch: 4);
        var x1 = new float[784];
        var x4 = new float[4 * 784];
        var output = new float[4 * 10];
        for (int i = 0; i < x4.Length; i++) x4[i] = (i % 7) * 0.1f;
        x4.AsSpan(0, 784).CopyTo(x1);
        for (int i = 0; i < 50; i++)
        {
            plan.Run(x1);
            plan.Run(x4, output, 4);
        }

        // The least of three tries: the runtime recompiling a method at a higher tier can allocate during any one.
        long allocated = long.MaxValue;
        float sink = 0f;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100; i++)
            {
                sink += plan.Run(x1)[0];
                plan.Run(x4, output, 4);
            }
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, allocated);
        Assert.True(float.IsFinite(sink));
    }

    [Fact]
    public void ReadsLiveWeights()
    {
        var model = Mlp.Create(3, [4], 2, "tanh", rng: new Rng(8));
        var plan = InferencePlan.Create(model);
        float[] x = [0.5f, -1f, 2f];
        var before = plan.Run(x).ToArray();

        var last = (Dense)model.Layers[^1];
        last.Bias!.AsSpan()[1] += 0.25f;
        model.Parameters()[0].AsSpan()[0] += 1f;   // first layer's W[0, 0]
        var after = plan.Run(x).ToArray();

        var expected = Graph(model, Tensor.FromArray(x, 1, 3)).ToArray();
        Assert.NotEqual(before[0], after[0]);
        Assert.NotEqual(before[1], after[1]);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], after[i], 1e-6f);
    }

    [Fact]
    public void RejectsUnsupportedModuleByName()
    {
        var model = new Sequential(new Dense(2, 3), new Sequential(new Tanh(), new Doubler()));
        var e = Assert.Throws<ArgumentException>(() => InferencePlan.Create(model));
        Assert.Contains("Doubler", e.Message, StringComparison.Ordinal);
        Assert.Contains("model.1.1", e.Message, StringComparison.Ordinal);

        var none = Assert.Throws<ArgumentException>(() => InferencePlan.Create(new Sequential(new Relu())));
        Assert.Contains("no Dense layer", none.Message, StringComparison.Ordinal);

        var chain = Assert.Throws<ShapeMismatchException>(() => InferencePlan.Create(new Sequential(new Dense(2, 3), new Dense(4, 1))));
        Assert.Equal("Dense(4→1) at 'model.1' expected input [*, 4] but the layer before it, Dense(2→3), gives [*, 3].", chain.Message);
    }

    [Fact]
    public void RejectsWrongInputLengthAndOversizedBatch()
    {
        var plan = InferencePlan.Create(new Sequential(new Dense(4, 2), new Relu()), maxBatch: 2);

        var e = Assert.Throws<ShapeMismatchException>(() => plan.Run(new float[5]));
        Assert.Equal("InferencePlan expected input [1, 4] (4 values) but got 5 values.", e.Message);

        var b = Assert.Throws<ArgumentOutOfRangeException>(() => plan.Run(new float[12], 3));
        Assert.Contains("maxBatch 2", b.Message, StringComparison.Ordinal);

        var o = Assert.Throws<ShapeMismatchException>(() => plan.Run(new float[8], new float[3], 2));
        Assert.Contains("[2, 2] (4 values) but got 3", o.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(784, 256)]
    [InlineData(37, 150)]
    [InlineData(9, 15)]
    [InlineData(64, 129)]
    public void GemvVectorPathEqualsScalarTwinAndGemm(int k, int n)
    {
        var rng = new Rng(k * 1000 + n);
        var x = Tensor.RandomNormal([k], rng).ToArray();
        for (int i = 0; i < k; i += 4) x[i] = 0f;
        var w = Tensor.RandomNormal([k, n], rng).ToArray();
        var vector = new float[n];
        var scalar = new float[n];
        var gemm = new float[n];

        DenseKernels.Gemv(scalar, x, w, k, n, SimdWidth.Scalar);
        foreach (var width in Simd.AllWidths)
        {
            DenseKernels.Gemv(vector, x, w, k, n, width);
            Assert.Equal(scalar, vector);   // same sums in the same order: bit-identical (Vector512 runs in software without AVX-512)
        }
        Gemm.Multiply(gemm, x, w, 1, n, k);
        for (int j = 0; j < n; j++)
        {
            // GEMM may sum in another order (or with FMA): bound the difference by k·ε·Σ|x·w|.
            double magnitude = 0;
            for (int p = 0; p < k; p++) magnitude += Math.Abs((double)x[p] * w[p * n + j]);
            Assert.True(Math.Abs(scalar[j] - gemm[j]) <= k * 1.2e-7 * magnitude + 1e-30, $"column {j}: {scalar[j]} vs GEMM {gemm[j]}");
        }
    }

    [Fact]
    public void BiasReluVectorPathEqualsScalarTwin()
    {
        var z = Tensor.RandomNormal([45], new Rng(12)).ToArray();
        var bias = Tensor.RandomNormal([45], new Rng(13)).ToArray();
        foreach (var width in Simd.AllWidths)
        {
            foreach (float slope in new[] { 0f, 0.2f })
            {
                var row = (float[])z.Clone();
                DenseKernels.BiasRelu(row, bias, row.Length, slope, width);
                for (int i = 0; i < z.Length; i++)
                {
                    float s = z[i] + bias[i];
                    Assert.Equal(s > 0f ? s : slope * s + 0f, row[i]);
                }
            }
        }
    }

    private sealed class Doubler : Module
    {
        public override Tensor Forward(Tensor input) => input * 2f;
        public override JsonObject ToSpec() => new() { ["type"] = "Doubler" };
        public override string ToString() => "Doubler";
    }
}
