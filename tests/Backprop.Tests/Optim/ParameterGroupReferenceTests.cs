using System.Text.Json;
using Backprop.Optim;
using Backprop.Tests.Golden;

namespace Backprop.Tests.Optim;

/// <summary>
/// Parameter groups against PyTorch (tools/make_param_group_reference.py): three groups with their own settings, the
/// last one tensor of 70,001 values that SGD, Adam and AdamW update in four slices on four threads. Runs alone so the
/// GEMM workers are free and the split really happens (asserted).
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class ParameterGroupReferenceTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var c in GoldenFile.Load("torch_param_groups.json").GetProperty("cases").EnumerateArray())
            foreach (int threads in new[] { 1, 4 })
                data.Add(c.GetProperty("name").GetString()!, threads);
        return data;
    }

    // The script's integer formulas, evaluated exactly as PyTorch does (int64, then a float64 division, then float32).
    private static float[] Formula(int n, long mul, long add, long mod, long center, double scale)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++) values[i] = (float)(((i * mul + add) % mod - center) / scale);
        return values;
    }

    private static float[] Initial(int k, int n) => Formula(n, 7919, 13 * k, 2001, 1000, 1000);

    private static float[] Gradient(int k, int n, int s) => Formula(n, 104729, 7 * s + 3 * k, 1999, 999, 500);

    private static ParameterGroup Group(JsonElement settings, Tensor t)
    {
        float? Get(string name) => settings.TryGetProperty(name, out var v) ? v.GetSingle() : null;
        float? Beta(int i) => settings.TryGetProperty("betas", out var b) ? b[i].GetSingle() : null;
        return new ParameterGroup([t])
        {
            LearningRate = Get("lr"), WeightDecay = Get("weight_decay"), Momentum = Get("momentum"), Beta1 = Beta(0), Beta2 = Beta(1),
        };
    }

    private static Optimizer Make(string name, ParameterGroup[] groups) => name switch
    {
        "sgd" => new Sgd(groups, lr: 0.05f, momentum: 0.5f),
        "sgd_nesterov" => new Sgd(groups, lr: 0.05f, momentum: 0.5f, nesterov: true, weightDecay: 0.02f),
        "adam" => new Adam(groups, lr: 0.001f, weightDecay: 0.02f),
        "adamw" => new AdamW(groups, lr: 0.002f, weightDecay: 0.05f),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void EachGroupFollowsPyTorch(string name, int threads)
    {
        var c = GoldenFile.Load("torch_param_groups.json").GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var sizes = c.GetProperty("sizes").EnumerateArray().Select(s => s.GetInt32()).ToArray();
        var tensors = sizes.Select((n, k) => Tensor.FromArray(Initial(k, n)).RequireGrad()).ToArray();
        var settings = c.GetProperty("groups").EnumerateArray().ToArray();
        var optimizer = Make(name, [.. settings.Select((s, k) => Group(s, tensors[k]))]);
        optimizer.Threads = threads;
        int steps = c.GetProperty("steps").GetInt32();
        for (int s = 0; s < steps; s++)
        {
            optimizer.ZeroGrad();
            for (int k = 0; k < tensors.Length; k++) tensors[k].Grad = Tensor.FromArray(Gradient(k, sizes[k], s));
            optimizer.Step();
        }
        var indices = c.GetProperty("indices").EnumerateArray().ToArray();
        var after = c.GetProperty("after").EnumerateArray().ToArray();
        for (int k = 0; k < tensors.Length; k++)
        {
            var actual = tensors[k].ToArray();
            var at = indices[k].EnumerateArray().Select(i => i.GetInt32()).ToArray();
            var expected = after[k].Floats();
            for (int j = 0; j < at.Length; j++)
                Assert.True(Math.Abs(actual[at[j]] - expected[j]) <= 1e-6 + 1e-5 * Math.Abs(expected[j]),
                    $"{name} on {threads} thread(s), group {k} w[{at[j]}]: {actual[at[j]]} vs torch {expected[j]}");
        }
        // Every update here is elementwise (SGD's velocity and scratch are made whole at the start), so the 70,001
        // values went to four threads in slices.
        Assert.True(optimizer.StepsElementwise);
        Assert.Equal(threads > 1 ? steps : 0, optimizer.ParallelUpdates);
    }

    [Theory]
    [InlineData("adamw")]
    [InlineData("sgd")]   // Nesterov momentum and weight decay: velocity and scratch sliced too
    public void ASlicedParameterGivesTheSameBitsAsOneThread(string name)
    {
        float[] Run(int threads)
        {
            var small = Tensor.FromArray(Initial(0, 9)).RequireGrad();
            var large = Tensor.FromArray(Initial(1, 50_000)).RequireGrad();
            Optimizer optimizer = name == "sgd"
                ? new Sgd([new ParameterGroup([small]) { LearningRate = 0.5f }, new ParameterGroup([large]) { LearningRate = 0.003f, WeightDecay = 0.2f, Momentum = 0.7f }],
                    lr: 0.01f, momentum: 0.9f, nesterov: true)
                : new AdamW([new ParameterGroup([small]) { LearningRate = 0.5f }, new ParameterGroup([large]) { LearningRate = 0.003f, WeightDecay = 0.2f, Beta1 = 0.7f }],
                    lr: 0.01f);
            optimizer.Threads = threads;
            for (int s = 0; s < 3; s++)
            {
                small.Grad = Tensor.FromArray(Gradient(0, 9, s));
                large.Grad = Tensor.FromArray(Gradient(1, 50_000, s));
                optimizer.Step();
            }
            Assert.Equal(threads > 1 ? 3 : 0, optimizer.ParallelUpdates);
            return [.. small.ToArray(), .. large.ToArray()];
        }
        var one = Run(1);
        Assert.Equal(one, Run(3));
    }
}
