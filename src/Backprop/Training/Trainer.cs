using System.Diagnostics;
using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;

namespace Backprop.Training;

/// <summary>
/// Keras-style training loops for any <see cref="Module"/>: <c>Fit</c>, <c>Evaluate</c>, <c>Predict</c>.
/// Each step is the seeds' loop: forward, cost, backward (chain rule), gradient-descent update.
/// </summary>
public static partial class Trainer
{
    /// <summary>
    /// Trains <paramref name="model"/> on <paramref name="train"/> for <paramref name="epochs"/> epochs of shuffled
    /// mini-batches and returns the per-epoch history. The same seed gives a bit-identical run.
    /// </summary>
    /// <param name="model">The model to train (its parameters are updated in place).</param>
    /// <param name="train">Training data.</param>
    /// <param name="loss">Cost function, e.g. <see cref="Losses.CrossEntropy"/>.</param>
    /// <param name="optimizer">Optimizer over the model's parameters.</param>
    /// <param name="epochs">Number of passes over the training data.</param>
    /// <param name="batchSize">Samples per gradient step.</param>
    /// <param name="validation">Optional held-out data evaluated after each epoch.</param>
    /// <param name="seed">Seed for the shuffling order.</param>
    /// <param name="earlyStopping">Optional early stopping rule.</param>
    /// <param name="onEpoch">Called after each epoch (progress reporting).</param>
    public static History Fit(this Module model, Dataset train, ILoss loss, Optimizer optimizer, int epochs,
        int batchSize = 32, Dataset? validation = null, int seed = 0, EarlyStopping? earlyStopping = null,
        Action<EpochMetrics>? onEpoch = null) =>
        model.Fit(train, loss, optimizer, new FitOptions
        {
            Epochs = epochs, BatchSize = batchSize, Validation = validation, Seed = seed, EarlyStopping = earlyStopping, OnEpoch = onEpoch,
        });

    /// <summary>
    /// Trains <paramref name="model"/> as <paramref name="options"/> say: epochs of shuffled mini-batches with an
    /// optional learning-rate schedule, validation and early stopping, progress callbacks, checkpoints after every
    /// epoch, resuming, and cancellation. The same seed gives a bit-identical run, interrupted and resumed or not.
    /// </summary>
    /// <remarks>
    /// Training runs in training mode (<see cref="Module.Train"/>); validation runs in evaluation mode through
    /// <see cref="Evaluate"/>, which never changes the model. <c>Fit</c> leaves the model in the mode it found it in:
    /// a new model stays in training mode, one put in evaluation mode (or loaded from a file) returns to it.
    /// <see cref="Predict(Module, Tensor)"/> and <see cref="Evaluate"/> evaluate whatever the mode.
    /// </remarks>
    /// <returns>The history; <see cref="History.Cancelled"/> tells a run cut short by the token.</returns>
    public static History Fit(this Module model, Dataset train, ILoss loss, Optimizer optimizer, FitOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(options);
        int epochs = options.Epochs;
        if (epochs < 0) throw new ArgumentOutOfRangeException(nameof(options), epochs, "epochs must be ≥ 0.");
        if (train.Count == 0) throw new ArgumentException("the training set is empty.", nameof(train));
        if (options.BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, $"FitOptions.BatchSize must be at least 1 but is {options.BatchSize}.");
        // A batch larger than the data is one batch of every row: the compiled step needs no buffers for rows that do not exist.
        // Data-parallel, a step takes this rank's share of the global batch, and the buffers are sized for that.
        int planBatch = Math.Max(1, Math.Min(options.Parallel?.LocalBatchSize(options.BatchSize) ?? options.BatchSize, train.Count));
        if (options.Resume && options.CheckpointDirectory is null)
            throw new ArgumentException("Resume needs a CheckpointDirectory to resume from.", nameof(options));

        using var session = TensorArena.Session();   // the step pool lets go of its buffers when training ends
        var loader = new DataLoader(train, options.BatchSize, shuffle: true, seed: options.Seed);
        var early = options.EarlyStopping;
        var parameters = model.Parameters();
        var state = new TrainingState
        {
            Optimizer = optimizer.Name, BaseLearningRate = optimizer.LearningRate, TrainCount = train.Count,
            BatchSize = options.BatchSize, Seed = options.Seed,
        };
        float[][]? bestWeights = null;
        if (options.Resume) (state, bestWeights) = Checkpoint.Load(options.CheckpointDirectory!, model, optimizer, loader, options.Seed);
        var parallel = options.Parallel;
        parallel?.Start(model, optimizer, train, options);
        var history = new History();
        foreach (var m in state.History) history.Add(m);
        history.StoppedEarly = state.StoppedEarly;
        history.ValidationIsTest = options.ValidationIsTest;
        var rates = FitSchedule.Start(optimizer, options, state);
        int batchCount = loader.BatchCount;
        bool validated = false;
        var plan = ChooseEngine(model, loss, train, options with { BatchSize = planBatch }, history);
        if (plan is not null && parallel is IFactorSharing sharing) plan.ShareFactors(sharing);
        bool several = OutputTerms.Apply(model, train, loss);
        if (options.StopOnDivergence && state.DivergenceReference == 0) state.DivergenceReference = DivergenceGuard.Reference(model, train, loss);
        var guard = options.StopOnDivergence ? new DivergenceGuard(model, options.DivergenceFactor, state.DivergenceReference, train.Count) : null;
        options.OnStart?.Invoke(history);
        bool wasTraining = model.IsTraining;

        void Save()
        {
            if (options.CheckpointDirectory is null) return;
            parallel?.BeforeCheckpoint(optimizer);
            if (parallel?.Rank > 0) return;
            state.StepCount = optimizer.StepCount;
            state.LearningRate = optimizer.LearningRate;
            rates.Save(state);
            state.Generators = model.NamedGenerators().ToDictionary(g => g.Name, g => TrainingState.Pack(g.Generator.State));
            state.History = [.. history.Epochs];
            state.StoppedEarly = history.StoppedEarly;
            Checkpoint.Save(options.CheckpointDirectory, state, model, optimizer, bestWeights, options.CheckpointMetadata);
            history.CheckpointPath = Checkpoint.PathIn(options.CheckpointDirectory);
        }

        for (int epoch = state.Epoch + 1; epoch <= epochs && !history.StoppedEarly; epoch++)
        {
            var clock = Stopwatch.StartNew();
            model.Train();
            if (state.Batch == 0)
            {
                // Where this epoch's row order is drawn from; a mid-epoch checkpoint redraws the same order from it.
                state.LoaderRng = TrainingState.Pack(loader.Rng.State);
                (state.LossSum, state.Correct, state.Seen) = (0, 0, 0);
                state.OutputLossSums = several ? new double[train.TargetCount] : null;
            }
            rates.BeforeEpoch(epoch);
            guard?.EpochStarts(state.Batch);
            int seenBefore = state.Seen;
            // This epoch's row order, drawn exactly as loader.StartEpoch draws it (so a resumed epoch sees the same
            // batches); batch b is rows [b·B, (b+1)·B) of it.
            var order = loader.DrawOrder();
            int batchSize = options.BatchSize;
            // Data-parallel: this rank's rows of every global batch (a global batch b is the ranks' local batches b).
            if (parallel is not null) (order, batchSize) = (parallel.Shard(order), parallel.LocalBatchSize(batchSize));
            parallel?.StartEpoch(model);
            for (int b = state.Batch; b < batchCount; b++)
            {
                var rows = order.AsSpan(b * batchSize, Math.Min(batchSize, order.Length - b * batchSize));
                rates.BeforeStep();
                var (batchLoss, batchCorrect) = plan is not null
                    ? PlannedBatch(plan, optimizer, train, rows, options, guard is not null)
                    : TrainBatch(model, train, loss, optimizer, rows, ref validated, options, guard is not null, state.OutputLossSums);
                if (guard?.AfterBatch(epoch, b + 1, batchLoss, state.LossSum + batchLoss, state.Seen + rows.Length, train, loss, rows, history) is { } diverged)
                {
                    if (!wasTraining) model.Eval();
                    throw diverged;
                }
                state.LossSum += batchLoss;
                state.Correct += batchCorrect;
                state.Seen += rows.Length * (parallel?.WorldSize ?? 1);   // every rank's local batch has as many rows
                state.Batch++;
                options.OnBatch?.Invoke(new BatchProgress(epoch, epochs, state.Seen, train.Count, state.LossSum / state.Seen,
                    (state.Seen - seenBefore) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9)));
                if (options.Cancellation.IsCancellationRequested && state.Batch < batchCount)
                {
                    Save();
                    history.Cancelled = true;
                    if (!wasTraining) model.Eval();
                    return history;
                }
            }
            parallel?.EndEpoch(model);
            double trainSeconds = clock.Elapsed.TotalSeconds;
            Evaluation? val = options.Validation is null ? null : model.Evaluate(options.Validation, loss);
            int seen = state.Seen;
            var metrics = new EpochMetrics(epoch, state.LossSum / seen, train.IsClassification ? (double)state.Correct / seen : null,
                val?.Loss, val?.Accuracy, clock.Elapsed.TotalSeconds, optimizer.LearningRate, (seen - seenBefore) / Math.Max(trainSeconds, 1e-9))
            {
                OutputLosses = state.OutputLossSums?.Select(s => s / seen).ToArray(), ValidationOutputLosses = val?.OutputLosses,
            };
            history.Add(metrics);
            options.OnEpoch?.Invoke(metrics);

            if (guard?.AfterEpoch(history, batchCount) is { } grew)
            {
                if (!wasTraining) model.Eval();
                throw grew;
            }

            double monitored = val?.Loss ?? metrics.Loss;
            rates.AfterEpoch(monitored);
            if (monitored < state.BestMonitored - (early?.MinDelta ?? 0))
            {
                state.BestMonitored = monitored;
                state.BestEpoch = epoch;
                state.SinceBest = 0;
                if (early?.RestoreBestWeights == true) bestWeights = [.. parameters.Select(p => p.ToArray())];
            }
            else if (early is not null && ++state.SinceBest >= early.Patience) history.StoppedEarly = true;

            state.Epoch = epoch;
            state.Batch = 0;
            state.LoaderRng = TrainingState.Pack(loader.Rng.State);   // the next epoch draws its order from here
            Save();
            if (options.Cancellation.IsCancellationRequested && epoch < epochs && !history.StoppedEarly)
            {
                history.Cancelled = true;
                if (!wasTraining) model.Eval();
                return history;
            }
        }

        history.BestEpoch = history.Epochs.Count == 0 ? 0 : history.Epochs[^1].Epoch;
        if (early?.RestoreBestWeights == true && bestWeights is not null)
        {
            for (int i = 0; i < parameters.Count; i++)
            {
                bestWeights[i].CopyTo(parameters[i].AsSpan());
                parameters[i].MarkWritten();
            }
            history.BestEpoch = state.BestEpoch;
        }
        if (!wasTraining) model.Eval();
        return history;
    }

    /// <summary>
    /// One gradient step on the batch of <paramref name="train"/>'s <paramref name="rows"/> through the autograd
    /// graph: zero the gradients, forward, loss, backward, clip (as <paramref name="options"/> ask), update. Returns
    /// the batch's summed loss (mean × B) and, for classification, how many rows it classified correctly. With
    /// <paramref name="onlyIfFinite"/> a batch whose loss is NaN or infinite is not applied (the divergence guard then
    /// keeps the weights that gave it).
    /// </summary>
    /// <remarks>
    /// The whole step runs in one <see cref="TensorArena"/> scope: the batch, every op's result and temporary, and the
    /// intermediate gradients rent their storage and give it back when the step ends, so only numbers leave it.
    /// </remarks>
    internal static (double LossSum, int Correct) TrainBatch(Module model, Dataset train, ILoss loss, Optimizer optimizer,
        ReadOnlySpan<int> rows, ref bool validated, FitOptions? options = null, bool onlyIfFinite = false, double[]? outputLossSums = null)
    {
        using var step = TensorArena.Step();
        optimizer.RecycleGrads();
        Tensor output, y, cost;
        var labels = train.IntTargets?.Rows(rows);
        if (OutputTerms.Apply(model, train, loss))
        {
            var (inputs, targets) = DataLoader.GatherAll(train, rows);
            var outputs = model.CallOutputs(inputs);
            (cost, var terms) = OutputTerms.Loss(outputs, targets, labels, loss, train, validate: !validated);
            validated = true;
            (output, y) = (outputs[0], targets[0]);
            if (outputLossSums is not null)
                for (int i = 0; i < terms.Count; i++) outputLossSums[i] += terms[i].Item() * (double)rows.Length;
        }
        else
        {
            if (train.InputCount == 1)
            {
                (var x, y) = DataLoader.GatherInput(train, rows, model);
                output = model.Call(x);
            }
            else
            {
                var (inputs, y1) = DataLoader.GatherInputs(train, rows, model);
                y = y1;
                output = model.Call(inputs);
            }
            if (!validated) { TargetAdapter.Validate(train, output, loss); validated = true; }
            cost = SingleLoss(loss, output, y, labels, train);
        }
        cost.Backward();
        double lossSum = cost.Item() * (double)rows.Length;
        int correct = train.IsClassification ? TargetAdapter.CountCorrect(output, y, FirstLoss(loss), labels) : 0;
        options?.Parallel?.AverageGradients(optimizer.Parameters, ref lossSum, ref correct);
        if (!onlyIfFinite || double.IsFinite(lossSum)) ClipAndStep(optimizer, options);
        return (lossSum, correct);
    }

    /// <summary>The same step through the compiled <see cref="TrainingPlan"/>: no graph, no allocation.</summary>
    private static (double LossSum, int Correct) PlannedBatch(TrainingPlan plan, Optimizer optimizer, Dataset train, ReadOnlySpan<int> rows,
        FitOptions options, bool onlyIfFinite)
    {
        var result = plan.Step(train, rows);
        options.Parallel?.AverageGradients(optimizer.Parameters, ref result.LossSum, ref result.Correct);
        if (!onlyIfFinite || double.IsFinite(result.LossSum)) ClipAndStep(optimizer, options);
        return result;
    }

    // Clipping as the options ask, then the step: data-parallel, the ranks' step (which may shard it among them).
    private static void ClipAndStep(Optimizer optimizer, FitOptions? options)
    {
        if (options?.Parallel is { } parallel)
        {
            parallel.Step(optimizer, options.ClipGradValue, options.ClipGradNorm);
            return;
        }
        GradClip.Apply(optimizer.Parameters, options?.ClipGradValue, options?.ClipGradNorm);
        optimizer.Step();
    }

    /// <summary>
    /// Mean loss and (for classification) accuracy of <paramref name="model"/> on <paramref name="data"/>, in
    /// evaluation mode whatever the model's mode, through the compiled inference path when the model allows (see
    /// <see cref="Predictor"/>). The model is not changed, so many threads may evaluate one model at once.
    /// </summary>
    public static Evaluation Evaluate(this Module model, Dataset data, ILoss loss, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        bool several = OutputTerms.Apply(model, data, loss);
        var predictor = data.InputCount == 1 && !several ? Predictor.For(model, data.SampleShape) : null;
        using var session = TensorArena.Session();
        double lossSum = 0;
        double[]? outputLossSums = several ? new double[data.TargetCount] : null;
        int correct = 0;
        var order = Enumerable.Range(0, data.Count).ToArray();
        using (InferenceMode.Enter())
        {
            for (int start = 0; start < data.Count; start += batchSize)
            {
                // The batch's results are read into numbers inside the scope; their storage is reused by the next batch.
                using var step = TensorArena.Step();
                var rows = order.AsSpan(start, Math.Min(batchSize, data.Count - start));
                var labels = data.IntTargets?.Rows(rows);
                Tensor output, y;
                if (several)
                {
                    var (inputs, targets) = DataLoader.GatherAll(data, rows);
                    IReadOnlyList<Tensor> outputs;
                    using (GradMode.NoGrad()) outputs = model.ForwardOutputs(inputs);
                    var (total, terms) = OutputTerms.Loss(outputs, targets, labels, loss, data, validate: true);
                    lossSum += total.Item() * (double)rows.Length;
                    for (int i = 0; i < terms.Count; i++) outputLossSums![i] += terms[i].Item() * (double)rows.Length;
                    (output, y) = (outputs[0], targets[0]);
                }
                else
                {
                    var (inputs, y1) = DataLoader.GatherInputs(data, rows, model);
                    y = y1;
                    if (predictor is not null) output = predictor.Predict(inputs[0]);
                    else using (GradMode.NoGrad()) output = model.Forward(inputs);
                    TargetAdapter.Validate(data, output, loss);
                    lossSum += SingleLoss(loss, output, y, labels, data).Item() * (double)rows.Length;
                }
                if (data.IsClassification) correct += TargetAdapter.CountCorrect(output, y, FirstLoss(loss), labels);
            }
        }
        int count = Math.Max(1, data.Count);
        return new Evaluation(lossSum / count, data.IsClassification ? (double)correct / count : null, data.Count)
        {
            OutputLosses = outputLossSums?.Select(s => s / count).ToArray(),
        };
    }

    // One output's loss against the batch's targets y; integer labels (a set that holds them so) go to a class-index loss as they are.
    private static Tensor SingleLoss(ILoss loss, Tensor output, Tensor y, IntTensor? labels, Dataset data) =>
        labels is not null && loss is IClassIndexLoss byIndex
            ? byIndex.Compute(output, labels)
            : loss.Compute(output, TargetAdapter.ForLoss(y, output, loss, data.IsClassification));

    // The loss whose output accuracy is read from: the first output's.
    private static ILoss FirstLoss(ILoss loss) => loss is MultiOutputLoss multi ? multi.Losses[0] : loss;

    /// <summary>
    /// The model's outputs for <paramref name="features"/> ([N, F]), in evaluation mode whatever the model's mode,
    /// without a graph and without changing the model (safe to call from many threads at once). Dense networks and
    /// CNNs run through the compiled forward pass (see <see cref="Predictor"/>); for repeated calls, or to write into your own buffer without allocating,
    /// create a <see cref="Predictor"/> once and call it.
    /// </summary>
    public static Tensor Predict(this Module model, Tensor features)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(features);
        return Predictor.For(model, features.Rank > 2 ? features.dims[1..] : null).Predict(features);
    }

    /// <summary>
    /// The outputs of a model with several inputs (<see cref="Module.Forward(IReadOnlyList{Tensor})"/>), each
    /// <c>[N, ...]</c> with the same N, in evaluation mode whatever the model's mode, without a graph and without
    /// changing the model. It runs through the graph's ops (the compiled forward pass takes one input).
    /// </summary>
    public static Tensor Predict(this Module model, params Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Length == 1) return model.Predict(inputs[0]);
        using (InferenceMode.Enter())
        using (GradMode.NoGrad())
            return model.Forward(inputs).Detach().Clone();
    }

    /// <summary>
    /// Every output of a model (<see cref="Module.ForwardOutputs"/>), e.g. <c>[logits [N, C], box [N, 4]]</c>, for
    /// its inputs (each <c>[N, ...]</c> with the same N), in evaluation mode whatever the model's mode, without a graph
    /// and without changing the model. A model with one output gives a list of one.
    /// </summary>
    public static IReadOnlyList<Tensor> PredictOutputs(this Module model, params IReadOnlyList<Tensor> inputs)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 1 && !ModuleFields.OverridesForwardOutputs(model.GetType())) return [model.Predict(inputs[0])];
        using (InferenceMode.Enter())
        using (GradMode.NoGrad())
            return [.. model.ForwardOutputs(inputs).Select(o => o.Detach().Clone())];
    }

    /// <summary>
    /// The predicted class of each row: argmax over the outputs, or for a single output a threshold (0 for logits
    /// trained with <c>bce_logits</c>, else 0.5).
    /// </summary>
    public static int[] PredictClasses(this Module model, Tensor features, ILoss? loss = null) =>
        ToClasses(model.Predict(features), loss);

    /// <summary>
    /// The class of each row of already computed outputs [N, C] (argmax), or of a single output column (threshold
    /// 0 for logits trained with <c>bce_logits</c>, else 0.5).
    /// </summary>
    public static int[] ToClasses(Tensor outputs, ILoss? loss = null)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        return TargetAdapter.Classes(outputs, loss);
    }
}
