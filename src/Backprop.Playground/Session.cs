using System.Text.Json;
using Backprop.Explain;
using Backprop.Nn;
using Backprop.Optim;

namespace Backprop.Playground;

/// <summary>
/// One browser tab's run: its data, its network and its optimizer. The network is a <see cref="Sequential"/> of one
/// block per hidden layer (Dense, activation, then <see cref="Dropout"/> when the layer has a rate; wrapped in a
/// <see cref="Residual"/> when the layer adds its input) and an output block whose width and activation the data's
/// <see cref="LearningTask"/> sets; its inputs are the <see cref="Features"/> of the data's input columns. Every call
/// holds the session's lock, so a tab's requests never interleave; sessions share nothing.
/// </summary>
/// <remarks>
/// Two classes are labelled ±1 and trained under <c>E = 1/(2N)·Σ(O_out − Y)²</c> through one tanh output: the
/// reference page's loss and the seeds' own, so a step-mode trace of the current batch explains exactly the loss being
/// trained (regularization aside). Regression trains the same loss through a linear output; three or more classes
/// train softmax cross-entropy.
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
    private LearningTask task = LearningTask.Binary;
    private CsvData? upload;   // the tab's CSV, when it uploaded one
    private Optimizer? optimizer;   // null until the first Configure builds the network
    private PointSet train = null!, test = null!;
    private float[] trainLabel = [], testLabel = [];
    private float[] columnMeans = [];   // each input column's mean over all points: where the heatmaps hold the unplotted ones
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

    private int streamGeneration;   // counts the event streams opened; only the newest one trains

    /// <summary>Opens an event stream that replaces any older one (which ends at its next event); returns its ticket.</summary>
    public int OpenStream() => Interlocked.Increment(ref streamGeneration);

    /// <summary>Whether the stream with <paramref name="ticket"/> is still the session's newest.</summary>
    public bool IsCurrentStream(int ticket) => Volatile.Read(ref streamGeneration) == ticket;

    /// <summary>
    /// Replaces the data, network and optimizer: a fresh run under <paramref name="next"/>. A change of only the
    /// learning rate or the regularization keeps the run going with the trained weights, as the reference page does,
    /// and so does a change of the plotted pair of columns.
    /// </summary>
    public void Configure(PlaygroundConfig next)
    {
        lock (gate)
        {
            var same = next with
            {
                LearningRate = config.LearningRate, Regularization = config.Regularization, RegularizationRate = config.RegularizationRate,
                Features = config.Features, Layers = config.Layers, Plot = config.Plot,
            };
            if (optimizer is not null && same == config
                && next.Features.SequenceEqual(config.Features) && next.Layers.SequenceEqual(config.Layers))
            {
                CheckPlot(next.Plot, train.Columns);   // the view changes; the run goes on
                optimizer.LearningRate = next.LearningRate;
                config = next;
                return;
            }
            Rebuild(next);
        }
    }

    /// <summary>Makes <paramref name="data"/> this session's data (dataset <c>csv</c>) and starts a fresh run on it.</summary>
    public void Upload(CsvData data)
    {
        lock (gate)
        {
            var previous = upload;
            upload = data;
            try
            {
                // A plotted pair the new file has not got goes back to its first two columns.
                var plot = Math.Max(config.Plot.Across, config.Plot.Up) < data.FeatureCount ? config.Plot : (0, 1);
                Rebuild(config with { Dataset = "csv", Plot = plot });
            }
            catch
            {
                upload = previous;
                throw;
            }
        }
    }

    private void Rebuild(PlaygroundConfig next)
    {
        var random = new Random(next.Seed);
        PointSet points;
        if (next.Dataset == "csv")
        {
            if (upload is null)
                throw new ApiException(400, "dataset csv is the session's uploaded CSV, and this session has none: upload one first (POST /api/sessions/{id}/data with the CSV as the body)");
            // The file's order is the user's; shuffle it (by the seed) so that the split takes every class evenly.
            var order = Enumerable.Range(0, upload.Points.Count).ToArray();
            random.Shuffle(order);
            points = upload.Points.Take(order);
        }
        else points = ToyData.Generate(next.Dataset, next.Points, next.Noise, random);
        CheckPlot(next.Plot, points.Columns);
        config = next;
        task = points.Task;
        int trainCount = Math.Clamp((int)MathF.Round(points.Count * next.TrainRatio), 1, points.Count - 1);
        train = points.Take([.. Enumerable.Range(0, trainCount)]);
        test = points.Take([.. Enumerable.Range(trainCount, points.Count - trainCount)]);
        trainLabel = train.Label;
        testLabel = test.Label;
        columnMeans = [.. points.Inputs.Select(c => (float)c.Average(v => (double)v))];
        trainFeatures = Features.Matrix(next.Features, train.Inputs);
        testFeatures = Features.Matrix(next.Features, test.Inputs);
        shuffle = new Random(next.Seed + 1);
        BuildNetwork();
    }

    /// <exception cref="ApiException">400 when the plotted pair names a column the data has not got.</exception>
    private static void CheckPlot((int Across, int Up) plot, int columns)
    {
        if (Math.Max(plot.Across, plot.Up) >= columns)
            throw new ApiException(400, $"plot must name two of this data's {columns} input columns (0 to {columns - 1}) but got [{plot.Across}, {plot.Up}]");
    }

    /// <summary>The network's input width: <see cref="Features.Count"/> for the data's columns.</summary>
    private int InputCount => Features.Count(config.Features, train.Columns);

    /// <summary>New initial weights and a fresh optimizer on the same data.</summary>
    public void Reset()
    {
        lock (gate) BuildNetwork();
    }

    private void BuildNetwork()
    {
        var rng = new Rng(config.Seed);
        Initializer init = config.Init switch { "he" => Init.HeUniform, "uniform" => Init.Default, _ => Init.XavierUniform() };
        var blocks = new List<Module>();
        denses.Clear();
        int fanIn = InputCount;
        for (int l = 0; l < config.Layers.Count; l++)
        {
            var layer = config.Layers[l];
            var dense = new Dense(fanIn, layer.Neurons, bias: true, init, rng);
            denses.Add(dense);
            List<Module> body = [dense, Activation.Create(layer.Activation == "linear" ? "identity" : layer.Activation)];
            if (layer.Dropout > 0) body.Add(new Dropout(layer.Dropout, new Rng(config.Seed * 31L + l + 7)));
            Module block = new Sequential([.. body]);
            blocks.Add(layer.Residual ? new Residual(block) : block);
            fanIn = layer.Neurons;
        }
        var output = new Dense(fanIn, task.Outputs, bias: true, init, rng);
        denses.Add(output);
        blocks.Add(task.OutputActivation() is { } act ? new Sequential(output, act) : new Sequential(output));
        model = new Sequential([.. blocks]);
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
        var loss = task.Loss(prediction, y);
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

    /// <summary>The next minibatch of the shuffled training rows: X [batch, features], Y (<see cref="LearningTask.Targets"/>).</summary>
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

    /// <summary>The training rows <paramref name="rows"/> as X [rows, features] and Y (<see cref="LearningTask.Targets"/>).</summary>
    private (Tensor X, Tensor Y) Rows(ReadOnlySpan<int> rows)
    {
        int f = InputCount;
        var x = new float[rows.Length * f];
        var y = new float[rows.Length];
        for (int r = 0; r < rows.Length; r++)
        {
            trainFeatures.AsSpan(rows[r] * f, f).CopyTo(x.AsSpan(r * f));
            y[r] = trainLabel[rows[r]];
        }
        return (Tensor.FromArray(x, rows.Length, f), task.Targets(y));
    }

    /// <summary>
    /// One step explained in the seeds' names (<see cref="StepTrace"/>) on the batch the next training step would
    /// take; with <paramref name="apply"/>, that step is then taken, so the page can walk step by step.
    /// </summary>
    /// <exception cref="ApiException">400 when the network or its loss is one a trace cannot explain (<see cref="Unexplained"/>).</exception>
    public StepTrace Explain(bool apply)
    {
        lock (gate)
        {
            if (Unexplained() is { } why) throw new ApiException(400, "step mode cannot explain this session: " + why);
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

    /// <summary>
    /// Why step mode cannot explain this session, or null when it can: a trace explains Dense layers each followed by
    /// an activation under the seeds' loss, so not cross-entropy, dropout's random masks or residual additions.
    /// </summary>
    private string? Unexplained() =>
        task.Unexplained
        ?? (config.Layers.Any(l => l.Dropout > 0) ? DropoutText() : null)
        ?? (config.Layers.Any(l => l.Residual) ? "its network has residual connections, which a trace of Dense layers does not show; turn them off" : null);

    /// <summary>Which hidden layers (numbered from 1) have dropout, in words.</summary>
    private string DropoutText()
    {
        var numbers = Enumerable.Range(1, config.Layers.Count).Where(n => config.Layers[n - 1].Dropout > 0).Select(n => $"{n}").ToList();
        string list = numbers.Count == 1 ? numbers[0] : string.Join(", ", numbers[..^1]) + " and " + numbers[^1];
        return $"its network has dropout on hidden layer{(numbers.Count == 1 ? "" : "s")} {list}, whose random masks a trace does not show; set dropout to 0 there";
    }

    /// <summary>
    /// Sets weight <c>W[layer][from, to]</c> (0-based: layer 0 takes the features, the last one feeds the output), as a
    /// learner edits a link; training goes on from the edited network.
    /// </summary>
    /// <exception cref="ApiException">400 naming the index that is out of range, or a value that is not finite.</exception>
    public void SetWeight(int layer, int from, int to, float value)
    {
        lock (gate)
        {
            if (layer < 0 || layer >= denses.Count)
                throw new ApiException(400, $"layer must be from 0 to {denses.Count - 1} (this network has {denses.Count} weight matrices) but got {layer}");
            var d = denses[layer];
            if (from < 0 || from >= d.InFeatures)
                throw new ApiException(400, $"from must be from 0 to {d.InFeatures - 1} (weight matrix {layer} has {d.InFeatures} inputs) but got {from}");
            if (to < 0 || to >= d.OutFeatures)
                throw new ApiException(400, $"to must be from 0 to {d.OutFeatures - 1} (weight matrix {layer} has {d.OutFeatures} outputs) but got {to}");
            if (!float.IsFinite(value) || MathF.Abs(value) > 100)
                throw new ApiException(400, $"value must be a number from -100 to 100 but got {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
            // No graph is alive between requests, so writing the storage cannot spoil a saved tensor. Weight is [in, out].
            d.Weight.AsSpan()[from * d.OutFeatures + to] = value;
        }
    }

    /// <summary>The loss and (for classes) the accuracy over a set, in evaluation mode and without recording a graph.</summary>
    private (float Loss, float? Accuracy) Evaluate(float[] features, float[] labels)
    {
        if (labels.Length == 0) return (0f, null);
        using var _ = GradMode.NoGrad();
        model.Eval();
        try
        {
            var prediction = model.Forward(Tensor.FromArray(features, labels.Length, InputCount));
            float loss = task.Loss(prediction, task.Targets(labels)).Item();
            if (!task.IsClassification) return (loss, null);
            var values = prediction.ToArray();
            int right = 0;
            for (int i = 0; i < labels.Length; i++) if (task.Predicted(values, i) == labels[i]) right++;
            return (loss, right / (float)labels.Length);
        }
        finally
        {
            model.Train();
        }
    }

    /// <summary>
    /// The page's frame: step count, train and test loss, the output heatmap, every neuron's heatmap and every weight.
    /// Heatmap values are activations ×100 rounded and clamped to ±100 (the colour scale's range), row 0 at the top
    /// (the up column at +6), column 0 at the left (the across column at −6), over the plotted pair of input columns
    /// (<see cref="PlaygroundConfig.Plot"/>; the other columns at their mean). Points are given in the same pair.
    /// </summary>
    public void WriteFrame(Utf8JsonWriter w, bool withData)
    {
        lock (gate)
        {
            w.WriteStartObject();
            w.WriteString("id", Id);
            w.WriteNumber("step", steps);
            w.WriteNumber("epoch", trainLabel.Length == 0 ? 0 : steps * Math.Min(config.BatchSize, trainLabel.Length) / (double)trainLabel.Length);
            var (trainLoss, trainAccuracy) = Evaluate(trainFeatures, trainLabel);
            var (testLoss, testAccuracy) = Evaluate(testFeatures, testLabel);
            WriteLoss(w, "trainLoss", trainLoss);
            WriteLoss(w, "testLoss", testLoss);
            if (trainAccuracy is { } ta) w.WriteNumber("trainAccuracy", ta); else w.WriteNull("trainAccuracy");
            if (testAccuracy is { } sa) w.WriteNumber("testAccuracy", sa); else w.WriteNull("testAccuracy");
            w.WritePropertyName("config");
            config.Write(w);
            WriteTask(w);
            if (Unexplained() is { } why) w.WriteString("unexplained", why); else w.WriteNull("unexplained");
            model.Eval();
            using (GradMode.NoGrad())
            {
                var output = Activations(OutputResolution);
                w.WriteNumber("outputResolution", OutputResolution);
                if (task.Kind == "classes")
                {
                    // Each cell: the class the network predicts there and its probability ×100.
                    var probabilities = output[^1];
                    int k = task.Outputs;
                    w.WriteStartArray("output");
                    for (int i = 0; i < probabilities.Length; i += k)
                        w.WriteNumberValue(float.IsFinite(probabilities[i]) ? (int)MathF.Round(probabilities.AsSpan(i, k).ToArray().Max() * 100) : 0);
                    w.WriteEndArray();
                    w.WriteStartArray("outputClass");
                    for (int i = 0; i < probabilities.Length / k; i++) w.WriteNumberValue((int)task.Predicted(probabilities, i));
                    w.WriteEndArray();
                }
                else WriteScaled(w, "output", output[^1], 0, 1);
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
            model.Train();
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
                WritePoints(w, "train", train, config.Plot, task.IsClassification);
                WritePoints(w, "test", test, config.Plot, task.IsClassification);
            }
            w.WriteEndObject();
        }
    }

    /// <summary>
    /// The task and, for an upload, what the scaled axes were: <c>{"kind", "classes": [names]}</c> and
    /// <c>"csv": {"rows", "columns": [k feature names, label name], "features": k, "ranges": [[min, max] per feature],
    /// "means": [per feature], "target": [min, max] or null}</c>, in the file's units.
    /// </summary>
    private void WriteTask(Utf8JsonWriter w)
    {
        w.WriteStartObject("task");
        w.WriteString("kind", task.Kind);
        w.WriteStartArray("classes");
        foreach (var c in task.ClassNames) w.WriteStringValue(c);
        w.WriteEndArray();
        w.WriteEndObject();
        if (config.Dataset != "csv" || upload is null) return;
        w.WriteStartObject("csv");
        w.WriteNumber("rows", upload.Points.Count);
        w.WriteStartArray("columns");
        foreach (var c in upload.Columns) w.WriteStringValue(c);
        w.WriteEndArray();
        w.WriteNumber("features", upload.FeatureCount);
        void Range(string? name, (float Min, float Max) r)
        {
            if (name is null) w.WriteStartArray(); else w.WriteStartArray(name);
            w.WriteNumberValue(r.Min);
            w.WriteNumberValue(r.Max);
            w.WriteEndArray();
        }
        w.WriteStartArray("ranges");
        foreach (var r in upload.Ranges) Range(null, r);
        w.WriteEndArray();
        w.WriteStartArray("means");
        foreach (var m in upload.Means) w.WriteNumberValue(m);
        w.WriteEndArray();
        if (upload.TargetRange is { } t) Range("target", t); else w.WriteNull("target");
        w.WriteEndObject();
    }

    /// <summary>
    /// Every block's output (hidden layers, then the output: tanh, linear, or the softmax probabilities of K classes)
    /// over a res×res grid of [−6, 6]² spanned by the plotted pair of input columns, every other column held at its
    /// mean: one forward pass of the whole grid, read block by block, in evaluation mode. Each array is [res·res, width]
    /// row-major.
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
        var columns = new float[train.Columns][];
        for (int c = 0; c < columns.Length; c++)
        {
            columns[c] = c == config.Plot.Across ? grid1 : c == config.Plot.Up ? grid2 : new float[res * res];
            if (c != config.Plot.Across && c != config.Plot.Up) Array.Fill(columns[c], columnMeans[c]);
        }
        var a = Tensor.FromArray(Features.Matrix(config.Features, columns), res * res, InputCount);
        var result = new List<float[]>();
        foreach (var module in model.Layers)
        {
            a = module.Forward(a);
            result.Add(a.ToArray());
        }
        if (task.Kind == "classes") result[^1] = a.Softmax().ToArray();
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

    /// <summary>Each point as [across, up, label]: its plotted pair of input columns and its label.</summary>
    private static void WritePoints(Utf8JsonWriter w, string name, PointSet points, (int Across, int Up) plot, bool classes)
    {
        w.WriteStartArray(name);
        float[] x1 = points.Inputs[plot.Across], x2 = points.Inputs[plot.Up], label = points.Label;
        for (int i = 0; i < label.Length; i++)
        {
            w.WriteStartArray();
            w.WriteNumberValue(MathF.Round(x1[i], 3));
            w.WriteNumberValue(MathF.Round(x2[i], 3));
            if (classes) w.WriteNumberValue((int)label[i]); else w.WriteNumberValue(MathF.Round(label[i], 3));
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }
}
