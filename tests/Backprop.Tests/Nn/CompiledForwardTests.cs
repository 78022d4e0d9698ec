using System.Text.Json.Nodes;
using Backprop.Kernels;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Tests.Nn;

/// <summary>
/// <see cref="Predictor"/>'s compiled forward (the training plan's stages in evaluation mode) against the autograd
/// forward pass (in an <see cref="InferenceMode"/> scope) for several dense architectures and batches; allocation per
/// call; live weights; fallback reasons; and the GEMV's vector path against its scalar twin.
/// </summary>
public sealed class CompiledForwardTests
{
    // The graph's evaluation-mode forward pass: what the compiled forward must reproduce.
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
    public void MatchesTheGraph(string name, int batch)
    {
        var model = Build(name);
        var predictor = new Predictor(model);
        Assert.True(predictor.IsCompiled, predictor.FallbackReason);
        var x = Tensor.RandomNormal([batch, predictor.InFeatures], new Rng(10 + batch));
        // Zero some inputs, as ReLU and MNIST pixels do, so the GEMV's skip is exercised.
        var xs = x.AsSpan();
        for (int i = 0; i < xs.Length; i += 3) xs[i] = 0f;

        var expected = Graph(model, x).ToArray();
        var actual = new float[batch * predictor.OutFeatures];
        predictor.Predict(x.AsSpan(), actual, batch);

        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-6f * Math.Max(1f, Math.Abs(expected[i])),
                $"{name} batch {batch}: output {i} is {actual[i]} but the graph gives {expected[i]}.");
    }

    [Fact]
    public void AllocatesNothingPerCall()
    {
        var predictor = new Predictor(Build("mnist"));
        var x1 = new float[784];
        var x4 = new float[4 * 784];
        var output = new float[4 * 10];
        for (int i = 0; i < x4.Length; i++) x4[i] = (i % 7) * 0.1f;
        x4.AsSpan(0, 784).CopyTo(x1);
        for (int i = 0; i < 100; i++)
        {
            predictor.Predict(x1, output);
            predictor.Predict(x4, output, 4);
        }

        float sink = 0f;
        long fewest = AllocationCount.FewestOnThisThread(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                predictor.Predict(x1, output);
                sink += output[0];
                predictor.Predict(x4, output, 4);
            }
        });

        Assert.Equal(0, fewest);
        Assert.True(float.IsFinite(sink));
    }

    [Fact]
    public void ReadsLiveWeights()
    {
        var model = Mlp.Create(3, [4], 2, "tanh", rng: new Rng(8));
        var predictor = new Predictor(model);
        float[] x = [0.5f, -1f, 2f];
        var before = new float[2];
        predictor.Predict(x, before);

        var last = (Dense)model.Layers[^1];
        last.Bias!.AsSpan()[1] += 0.25f;
        model.Parameters()[0].AsSpan()[0] += 1f;   // first layer's W[0, 0]
        var after = new float[2];
        predictor.Predict(x, after);

        var expected = Graph(model, Tensor.FromArray(x, 1, 3)).ToArray();
        Assert.NotEqual(before[0], after[0]);
        Assert.NotEqual(before[1], after[1]);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], after[i], 1e-6f);
    }

    [Fact]
    public void NamesTheLayerItCannotCompile()
    {
        var nested = new Predictor(new Sequential(new Dense(2, 3), new Sequential(new Tanh(), new Doubler())));
        Assert.False(nested.IsCompiled);
        Assert.Contains("Doubler at '1.1' on rows of 3 features is not in the compiled step", nested.FallbackReason, StringComparison.Ordinal);

        var none = new Predictor(new Sequential(new Relu()));
        Assert.Contains("input width", none.FallbackReason, StringComparison.Ordinal);

        var chain = new Predictor(new Sequential(new Dense(2, 3), new Dense(4, 1)));
        Assert.Contains("Dense(4→1) at '1' on rows of 3 features is not in the compiled step", chain.FallbackReason, StringComparison.Ordinal);
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
