using System.Diagnostics;
using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;

namespace Backprop.Training;

/// <summary>
/// Keras-style training loops for any <see cref="Module"/>: <c>Fit</c>, <c>Evaluate</c>, <c>Predict</c>.
/// Each step is the seeds' loop: forward, cost, backward (chain rule), gradient-descent update.
/// </summary>
public static class Trainer
{
    /// <summary>
    /// Whether <c>Fit</c> trains dense networks through the compiled, allocation-free <see cref="TrainingPlan"/>
    /// (default) rather than the autograd graph; <c>BACKPROP_TRAIN_PLAN=off</c> turns it off, to compare the two.
    /// </summary>
    internal static bool UseTrainingPlan => !ForceAutograd && PlanEnabledByEnvironment;

    private static readonly bool PlanEnabledByEnvironment = Environment.GetEnvironmentVariable("BACKPROP_TRAIN_PLAN") != "off";

    /// <summary>Set (per thread, for tests and comparisons) to train through the autograd graph even when a plan fits.</summary>
    [ThreadStatic] internal static bool ForceAutograd;

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
        Action<EpochMetrics>? onEpoch = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (epochs < 0) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "epochs must be ≥ 0.");
        if (train.Count == 0) throw new ArgumentException("the training set is empty.", nameof(train));

        var history = new History();
        var loader = new DataLoader(train, batchSize, shuffle: true, seed: seed);
        double bestMonitored = double.PositiveInfinity;
        int bestEpoch = 0, sinceBest = 0;
        float[][]? bestWeights = null;
        var parameters = model.Parameters();
        bool validated = false;
        var plan = UseTrainingPlan ? TrainingPlan.TryCreate(model, loss, train, batchSize, out _) : null;

        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            model.Train();
            double lossSum = 0;
            int correct = 0, seen = 0;
            if (plan is not null)
            {
                // The compiled step: same batches (same order from the same generator), no graph, no allocation.
                var order = loader.DrawOrder();
                for (int start = 0; start < order.Length; start += batchSize)
                {
                    var rows = order.AsSpan(start, Math.Min(batchSize, order.Length - start));
                    var (batchLoss, batchCorrect) = plan.Step(train, rows);
                    optimizer.Step();
                    lossSum += batchLoss;
                    correct += batchCorrect;
                    seen += rows.Length;
                }
            }
            else foreach (var (x, y) in loader)
            {
                optimizer.ZeroGrad();
                var output = model.Forward(x);
                if (!validated) { TargetAdapter.Validate(train, output, loss); validated = true; }
                var cost = loss.Compute(output, TargetAdapter.ForLoss(y, output, loss, train.IsClassification));
                cost.Backward();
                optimizer.Step();

                int n = x.Shape[0];
                lossSum += cost.Item() * (double)n;
                seen += n;
                if (train.IsClassification) correct += TargetAdapter.CountCorrect(output, y, loss);
            }
            double trainSeconds = clock.Elapsed.TotalSeconds;
            Evaluation? val = validation is null ? null : model.Evaluate(validation, loss);
            var metrics = new EpochMetrics(epoch, lossSum / seen, train.IsClassification ? (double)correct / seen : null,
                val?.Loss, val?.Accuracy, clock.Elapsed.TotalSeconds, optimizer.LearningRate, seen / Math.Max(trainSeconds, 1e-9));
            history.Add(metrics);
            onEpoch?.Invoke(metrics);

            if (!double.IsFinite(metrics.Loss))
                throw new ArithmeticException($"training diverged at epoch {epoch}: the loss is {metrics.Loss}. Try a smaller learning rate.");

            double monitored = val?.Loss ?? metrics.Loss;
            if (monitored < bestMonitored - (earlyStopping?.MinDelta ?? 0))
            {
                bestMonitored = monitored;
                bestEpoch = epoch;
                sinceBest = 0;
                if (earlyStopping?.RestoreBestWeights == true) bestWeights = [.. parameters.Select(p => p.ToArray())];
            }
            else if (earlyStopping is not null && ++sinceBest >= earlyStopping.Patience)
            {
                history.StoppedEarly = true;
                break;
            }
        }

        history.BestEpoch = history.Epochs.Count == 0 ? 0 : history.Epochs[^1].Epoch;
        if (earlyStopping?.RestoreBestWeights == true && bestWeights is not null)
        {
            for (int i = 0; i < parameters.Count; i++) bestWeights[i].CopyTo(parameters[i].AsSpan());
            history.BestEpoch = bestEpoch;
        }
        model.Eval();
        return history;
    }

    /// <summary>Mean loss and (for classification) accuracy of <paramref name="model"/> on <paramref name="data"/>.</summary>
    public static Evaluation Evaluate(this Module model, Dataset data, ILoss loss, int batchSize = 1024)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(loss);
        bool wasTraining = model.IsTraining;
        model.Eval();
        double lossSum = 0;
        int correct = 0;
        using (GradMode.NoGrad())
        {
            foreach (var (x, y) in new DataLoader(data, batchSize, shuffle: false))
            {
                var output = model.Forward(x);
                TargetAdapter.Validate(data, output, loss);
                lossSum += loss.Compute(output, TargetAdapter.ForLoss(y, output, loss, data.IsClassification)).Item() * (double)x.Shape[0];
                if (data.IsClassification) correct += TargetAdapter.CountCorrect(output, y, loss);
            }
        }
        if (wasTraining) model.Train();
        int count = Math.Max(1, data.Count);
        return new Evaluation(lossSum / count, data.IsClassification ? (double)correct / count : null, data.Count);
    }

    /// <summary>The model's outputs for <paramref name="features"/> ([N, F]), in evaluation mode, without a graph.</summary>
    public static Tensor Predict(this Module model, Tensor features)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(features);
        bool wasTraining = model.IsTraining;
        model.Eval();
        try
        {
            using (GradMode.NoGrad()) return model.Forward(features);
        }
        finally
        {
            if (wasTraining) model.Train();
        }
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
