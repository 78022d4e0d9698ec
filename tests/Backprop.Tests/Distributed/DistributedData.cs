using Backprop.Data;
using Backprop.Distributed;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Distributed;

/// <summary>Data, models and runs shared by the data-parallel tests.</summary>
internal static class DistributedData
{
    public const string Mlp = "dense(32)-relu-dense(16)-tanh-dense(4)";
    public const string Cnn = "conv(4,3,pad=1)-relu-maxpool(2)-conv(8,3)-relu-flatten-dense(4)";

    /// <summary>Random classification rows (4 classes), [rows, features], as images of <paramref name="sampleShape"/>.</summary>
    public static Dataset Classification(int rows, int[] sampleShape, int seed = 5)
    {
        int features = sampleShape.Aggregate(1, (p, d) => p * d);
        var x = Tensor.RandomNormal([rows, features], new Rng(seed));
        // A class that depends on the features, so training moves the weights in a consistent direction.
        var xs = x.ToArray();
        var y = new float[rows];
        for (int i = 0; i < rows; i++) y[i] = (xs[i * features] > 0 ? 1 : 0) + (xs[i * features + features - 1] > 0 ? 2 : 0);
        var data = new Dataset(x, Tensor.FromArray(y), name: "random");
        return sampleShape.Length == 1 ? data : data.WithSampleShape(sampleShape);
    }

    public static Sequential Build(string spec, Dataset data, int seed = 7) => ModelLanguage.Build(spec, data.SampleShape, new Rng(seed));

    public static Optimizer Optimizer(string name, Module model) => name switch
    {
        "adam" => new Adam(model.Parameters(), lr: 0.01f),
        _ => new Sgd(model.Parameters(), lr: 0.05f, momentum: 0.9f),
    };

    /// <summary>Every parameter and buffer after training <paramref name="spec"/> with the options, one process.</summary>
    public static float[][] TrainAlone(string spec, Dataset data, string optimizer, FitOptions options)
    {
        var model = Build(spec, data);
        model.Fit(data, Losses.CrossEntropy, Optimizer(optimizer, model), options);
        return [.. model.StateDict().Select(s => s.Tensor.ToArray())];
    }

    /// <summary>Each rank's parameters and buffers after training on <paramref name="ranks"/> threads.</summary>
    public static float[][][] TrainParallel(int ranks, string spec, Dataset data, string optimizer, FitOptions options,
        DataParallelOptions? parallel = null, Func<int, int>? seedOf = null)
    {
        var result = new float[ranks][][];
        ThreadCommunicator.Run(ranks, comm =>
        {
            var model = Build(spec, data, seedOf?.Invoke(comm.Rank) ?? 7);
            var dp = new DataParallel(comm, parallel);
            model.Fit(data, Losses.CrossEntropy, Optimizer(optimizer, model), options with { Parallel = dp });
            result[comm.Rank] = [.. model.StateDict().Select(s => s.Tensor.ToArray())];
        });
        return result;
    }

    /// <summary>Asserts the tensors within the 1e-5 (<see cref="MaxRelativeDifference"/>), naming <paramref name="what"/>.</summary>
    public static void AssertClose(float[][] actual, float[][] expected, string what)
    {
        double difference = MaxRelativeDifference(actual, expected);
        Assert.True(difference <= 1e-5, $"{what}: largest relative difference {difference:E2} > 1e-5");
    }

    /// <summary>
    /// The largest relative difference over the tensors: max over tensors of max|a − b| / max|b|, each difference
    /// measured against its tensor's scale (an element-wise ratio is undefined for a weight that crosses 0).
    /// </summary>
    public static double MaxRelativeDifference(float[][] a, float[][] b)
    {
        Assert.Equal(b.Length, a.Length);
        double worst = 0;
        for (int t = 0; t < a.Length; t++)
        {
            Assert.Equal(b[t].Length, a[t].Length);
            double difference = 0, scale = 0;
            for (int i = 0; i < a[t].Length; i++)
            {
                difference = Math.Max(difference, Math.Abs(a[t][i] - b[t][i]));
                scale = Math.Max(scale, Math.Abs(b[t][i]));
            }
            worst = Math.Max(worst, difference / Math.Max(scale, float.Epsilon));
        }
        return worst;
    }
}
