using System.Text.Json;
using Backprop.Explain;
using Backprop.Nn;
using Backprop.Optim;

namespace Backprop.Playground;

/// <summary>
/// One browser tab's run: its data, its network (a <see cref="Sequential"/> of Dense layers and activations ending
/// in one tanh neuron, as TensorFlow Playground's) and its optimizer. Every call holds the session's lock, so a tab's
/// requests never interleave; sessions share nothing.
/// </summary>
/// <remarks>
/// Labels are ±1 and the loss is <c>E = 1/(2N)·Σ(O_out − Y)²</c>: the reference page's loss and the seeds' own, so a
/// step-mode trace of the current batch explains exactly the loss being trained (regularization aside).
/// </remarks>
internal sealed class Session
{
    /// <summary>Points are drawn in, and heatmaps cover, the square [−Extent, Extent]².</summary>
    public const float Extent = 6f;
    /// <summary>Cells per side of the output heatmap and of each neuron's heatmap.</summary>
    public const int OutputResolution = 50, NeuronResolution = 20;

    private readonly Lock gate = new();
    private readonly PlaygroundLimits limits;
    private PlaygroundConfig config = new();
    private Sequential model = null!;
    private readonly List<Dense> denses = [];
    private Optimizer? optimizer;   // null until the first Configure builds the network
    private float[] trainX1 = [], trainX2 = [], trainLabel = [], testX1 = [], testX2 = [], testLabel = [];
    private float[] trainFeatures = [], testFeatures = [];
    private int[] order = [];
    private int cursor;
    private long steps;
    private Random shuffle = new(0);
    private double tokens;
    private long lastRefill;

    public Session(string id, PlaygroundConfig config, PlaygroundLimits limits)
    {
        Id = id;
        this.limits = limits;
        tokens = limits.MaxStepsPerSecond;
        lastRefill = Environment.TickCount64;
        Configure(config);
    }

    public string Id { get; }

    /// <summary><see cref="Environment.TickCount64"/> of the last request, for the idle timeout.</summary>
    public long LastUsed { get; private set; } = Environment.TickCount64;

    public void Touch() => LastUsed = Environment.TickCount64;

    /// <summary>
    /// Replaces the data, network and optimizer: a fresh run under <paramref name="next"/>. A change of only the
    /// learning rate or the regularization keeps the run going with the trained weights, as the reference page does.
    /// </summary>
    public void Configure(PlaygroundConfig next)
    {
        lock (gate)
        {
            var same = next with
            {
                LearningRate = config.LearningRate, Regularization = config.Regularization, RegularizationRate = config.RegularizationRate,
                Features = config.Features, Layers = config.Layers,
            };
            if (optimizer is not null && same == config
                && next.Features.SequenceEqual(config.Features) && next.Layers.SequenceEqual(config.Layers))
            {
                optimizer.LearningRate = next.LearningRate;
                config = next;
                return;
            }
            config = next;
            var random = new Random(next.Seed);
            var (x1, x2, label) = ToyData.Generate(next.Dataset, next.Points, next.Noise, random);
            int trainCount = Math.Clamp((int)MathF.Round(next.Points * next.TrainRatio), 1, next.Points - 1);
            trainX1 = x1[..trainCount]; trainX2 = x2[..trainCount]; trainLabel = label[..trainCount];
            testX1 = x1[trainCount..]; testX2 = x2[trainCount..]; testLabel = label[trainCount..];
            trainFeatures = Features.Matrix(next.Features, trainX1, trainX2);
            testFeatures = Features.Matrix(next.Features, testX1, testX2);
            shuffle = new Random(next.Seed + 1);
            BuildNetwork();
        }
    }

    /// <summary>New initial weights and a fresh optimizer on the same data.</summary>
    public void Reset()
    {
        lock (gate) BuildNetwork();
    }

    private void BuildNetwork()
    {
        var rng = new Rng(config.Seed);
        Initializer init = config.Init switch { "he" => Init.HeUniform, "uniform" => Init.Default, _ => Init.XavierUniform() };
        var modules = new List<Module>();
        denses.Clear();
        int fanIn = config.Features.Count;
        foreach (var layer in config.Layers)
        {
            var dense = new Dense(fanIn, layer.Neurons, bias: true, init, rng);
            denses.Add(dense);
            modules.Add(dense);
            modules.Add(Activation.Create(layer.Activation == "linear" ? "identity" : layer.Activation));
            fanIn = layer.Neurons;
        }
        var output = new Dense(fanIn, 1, bias: true, init, rng);
        denses.Add(output);
        modules.Add(output);
        modules.Add(new Tanh());
        model = new Sequential([.. modules]);
        var parameters = model.Parameters();
        optimizer = config.Optimizer switch
        {
            "adam" => new Adam(parameters, config.LearningRate),
            "momentum" => new Sgd(parameters, config.LearningRate, momentum: 0.9f),
            _ => new Sgd(parameters, config.LearningRate),
        };
        order = Enumerable.Range(0, trainLabel.Length).ToArray();
        cursor = order.Length;   // the first step shuffles
        steps = 0;
    }

    /// <summary>
    /// Runs up to <paramref name="requested"/> minibatch steps, fewer when the session's steps-per-second budget is
    /// spent; returns how many ran.
    /// </summary>
    public int Train(int requested)
    {
        lock (gate)
        {
            long now = Environment.TickCount64;
            tokens = Math.Min(limits.MaxStepsPerSecond, tokens + (now - lastRefill) / 1000.0 * limits.MaxStepsPerSecond);
            lastRefill = now;
            int n = Math.Min(requested, (int)tokens);
            tokens -= n;
            for (int s = 0; s < n; s++) TrainStep();
            return n;
        }
    }

    private void TrainStep()
    {
        var (x, y) = NextBatch();
        var prediction = model.Forward(x);
        var loss = Losses.HalfMSE.Compute(prediction, y);
        if (config.Regularization != "none" && config.RegularizationRate > 0)
        {
            // L1: rate·Σ|w|, L2: rate·½Σw², over the weights (not the biases), as the reference page does.
            Tensor? penalty = null;
            foreach (var d in denses)
            {
                var term = config.Regularization == "l1" ? d.Weight.Abs().Sum() : d.Weight.Square().Sum() * Tensor.Scalar(0.5f);
                penalty = penalty is null ? term : penalty + term;
            }
            loss = loss + penalty! * Tensor.Scalar(config.RegularizationRate);
        }
        optimizer!.ZeroGrad();
        loss.Backward();
        optimizer!.Step();
        steps++;
    }

    /// <summary>The next minibatch of the shuffled training rows: X [batch, features], Y [batch, 1].</summary>
    private (Tensor X, Tensor Y) NextBatch()
    {
        int batch = Math.Min(config.BatchSize, order.Length);
        if (cursor + batch > order.Length)
        {
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = shuffle.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            cursor = 0;
        }
        var rows = order.AsSpan(cursor, batch);
        cursor += batch;
        return Rows(rows);
    }

    /// <summary>The training rows <paramref name="rows"/> as X [rows, features] and Y [rows, 1].</summary>
    private (Tensor X, Tensor Y) Rows(ReadOnlySpan<int> rows)
    {
        int f = config.Features.Count;
        var x = new float[rows.Length * f];
        var y = new float[rows.Length];
        for (int r = 0; r < rows.Length; r++)
        {
            trainFeatures.AsSpan(rows[r] * f, f).CopyTo(x.AsSpan(r * f));
            y[r] = trainLabel[rows[r]];
        }
        return (Tensor.FromArray(x, rows.Length, f), Tensor.FromArray(y, rows.Length, 1));
    }

    /// <summary>
    /// One step explained in the seeds' names (<see cref="StepTrace"/>) on the batch the next training step would
    /// take; with <paramref name="apply"/>, that step is then taken, so the page can walk step by step.
    /// </summary>
    public StepTrace Explain(bool apply)
    {
        lock (gate)
        {
            int batch = Math.Min(config.BatchSize, order.Length);
            if (cursor + batch > order.Length)
            {
                // Start a new epoch now, so the explained batch is the one the step below trains on.
                for (int i = order.Length - 1; i > 0; i--)
                {
                    int j = shuffle.Next(i + 1);
                    (order[i], order[j]) = (order[j], order[i]);
                }
                cursor = 0;
            }
            var (x, y) = Rows(order.AsSpan(cursor, batch));
            var trace = StepTrace.ForModel(model, x, y);
            if (apply) TrainStep();
            return trace;
        }
    }

    /// <summary>Half the mean squared error over a set, without recording a graph.</summary>
    private float Loss(float[] features, float[] labels)
    {
        if (labels.Length == 0) return 0f;
        using var _ = GradMode.NoGrad();
        var prediction = model.Forward(Tensor.FromArray(features, labels.Length, config.Features.Count)).ToArray();
        double sum = 0;
        for (int i = 0; i < labels.Length; i++) sum += (prediction[i] - labels[i]) * (prediction[i] - labels[i]);
        return (float)(sum / (2 * labels.Length));
    }

    /// <summary>
    /// The page's frame: step count, train and test loss, the output heatmap, every neuron's heatmap and every weight.
    /// Heatmap values are activations ×100 rounded and clamped to ±100 (the colour scale's range), row 0 at the top
    /// (x2 = +6), column 0 at the left (x1 = −6).
    /// </summary>
    public void WriteFrame(Utf8JsonWriter w, bool withData)
    {
        lock (gate)
        {
            w.WriteStartObject();
            w.WriteString("id", Id);
            w.WriteNumber("step", steps);
            w.WriteNumber("epoch", trainLabel.Length == 0 ? 0 : steps * Math.Min(config.BatchSize, trainLabel.Length) / (double)trainLabel.Length);
            WriteLoss(w, "trainLoss", Loss(trainFeatures, trainLabel));
            WriteLoss(w, "testLoss", Loss(testFeatures, testLabel));
            w.WritePropertyName("config");
            config.Write(w);
            using (GradMode.NoGrad())
            {
                var output = Activations(OutputResolution);
                w.WriteNumber("outputResolution", OutputResolution);
                WriteScaled(w, "output", output[^1], 0, 1);
                var neurons = Activations(NeuronResolution);
                w.WriteNumber("neuronResolution", NeuronResolution);
                w.WriteStartArray("neurons");
                for (int l = 0; l < neurons.Count; l++)
                {
                    w.WriteStartArray();
                    int width = neurons[l].Length / (NeuronResolution * NeuronResolution);
                    for (int j = 0; j < width; j++) WriteScaled(w, null, neurons[l], j, width);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
            }
            w.WriteStartArray("weights");
            foreach (var d in denses) WriteMatrix(w, d.Weight.ToArray(), d.InFeatures, d.OutFeatures);
            w.WriteEndArray();
            w.WriteStartArray("biases");
            foreach (var d in denses)
            {
                w.WriteStartArray();
                foreach (float b in d.Bias!.ToArray()) w.WriteNumberValue(MathF.Round(b, 4));
                w.WriteEndArray();
            }
            w.WriteEndArray();
            if (withData)
            {
                WritePoints(w, "train", trainX1, trainX2, trainLabel);
                WritePoints(w, "test", testX1, testX2, testLabel);
            }
            w.WriteEndObject();
        }
    }

    /// <summary>
    /// Every layer's activations (hidden layers, then the output) over a res×res grid of [−6, 6]²: one forward
    /// pass of the whole grid, read module by module. Each array is [res·res, width] row-major.
    /// </summary>
    private List<float[]> Activations(int res)
    {
        var grid1 = new float[res * res];
        var grid2 = new float[res * res];
        for (int r = 0; r < res; r++)
            for (int c = 0; c < res; c++)
            {
                grid1[r * res + c] = -Extent + (c + 0.5f) * 2 * Extent / res;
                grid2[r * res + c] = Extent - (r + 0.5f) * 2 * Extent / res;
            }
        var a = Tensor.FromArray(Features.Matrix(config.Features, grid1, grid2), res * res, config.Features.Count);
        var result = new List<float[]>();
        foreach (var module in model.Layers)
        {
            a = module.Forward(a);
            if (module is Activation) result.Add(a.ToArray());
        }
        return result;
    }

    /// <summary>A loss, or null once training has diverged (JSON has no NaN).</summary>
    private static void WriteLoss(Utf8JsonWriter w, string name, float loss)
    {
        if (float.IsFinite(loss)) w.WriteNumber(name, loss);
        else w.WriteNull(name);
    }

    private static void WriteScaled(Utf8JsonWriter w, string? name, float[] values, int column, int width)
    {
        if (name is null) w.WriteStartArray(); else w.WriteStartArray(name);
        for (int i = column; i < values.Length; i += width)
            w.WriteNumberValue(float.IsFinite(values[i]) ? (int)MathF.Round(Math.Clamp(values[i], -1f, 1f) * 100) : 0);
        w.WriteEndArray();
    }

    private static void WriteMatrix(Utf8JsonWriter w, float[] values, int rows, int cols)
    {
        w.WriteStartArray();
        for (int r = 0; r < rows; r++)
        {
            w.WriteStartArray();
            for (int c = 0; c < cols; c++) w.WriteNumberValue(MathF.Round(values[r * cols + c], 4));
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }

    private static void WritePoints(Utf8JsonWriter w, string name, float[] x1, float[] x2, float[] label)
    {
        w.WriteStartArray(name);
        for (int i = 0; i < label.Length; i++)
        {
            w.WriteStartArray();
            w.WriteNumberValue(MathF.Round(x1[i], 3));
            w.WriteNumberValue(MathF.Round(x2[i], 3));
            w.WriteNumberValue((int)label[i]);
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }
}
