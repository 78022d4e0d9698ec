using System.Diagnostics;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Text;

/// <summary>Where a text training run stands at a report.</summary>
/// <param name="Step">Optimizer steps done.</param>
/// <param name="TrainLoss">Mean loss of the steps since the last report (nats per token, on random windows).</param>
/// <param name="ValidationLoss">Loss on the validation windows (nats per token).</param>
/// <param name="LearningRate">The rate of the last step.</param>
/// <param name="TokensPerSecond">Tokens trained per second of stepping (evaluation not counted).</param>
public sealed record TextTrainingProgress(int Step, double TrainLoss, double ValidationLoss, float LearningRate, double TokensPerSecond);

/// <summary>The outcome of <see cref="TextTrainer.Train"/>.</summary>
/// <param name="Steps">Optimizer steps done.</param>
/// <param name="TrainLoss">Final loss on the training windows (nats per token).</param>
/// <param name="ValidationLoss">Final loss on the validation windows (nats per token).</param>
/// <param name="TokensPerSecond">Tokens trained per second of stepping.</param>
/// <param name="TrainSeconds">Wall time of the whole run, reports included (of this process, when resumed).</param>
public sealed record TextTrainingResult(int Steps, double TrainLoss, double ValidationLoss, double TokensPerSecond, double TrainSeconds)
{
    /// <summary>The checkpoint written last, or null without <see cref="TextTrainingOptions.CheckpointDirectory"/>.</summary>
    public string? CheckpointPath { get; init; }
}

/// <summary>
/// Trains a <see cref="LanguageModel"/> on a <see cref="TextDataset"/> by steps, nanoGPT's way: each step draws random
/// windows, scores the logits [B·T, V] against the next tokens [B·T] with cross-entropy (every position counts), clips
/// the gradient norm, and takes an AdamW step at the scheduled rate.
/// </summary>
public static class TextTrainer
{
    /// <summary>Trains <paramref name="model"/>; <paramref name="onReport"/> gets the progress every
    /// <see cref="TextTrainingOptions.EvalEvery"/> steps and at the end; <paramref name="stop"/> ends the run early when it returns true.</summary>
    /// <remarks>With <see cref="TextTrainingOptions.CheckpointDirectory"/>, a checkpoint is written at every report,
    /// when the run ends and when <paramref name="stop"/> ends it; <see cref="TextTrainingOptions.Resume"/> continues one.</remarks>
    /// <exception cref="ArgumentException">The model's vocabulary or context does not fit the data, or an option is out of range.</exception>
    /// <exception cref="InvalidOperationException">The checkpoint to resume is of another model, tokenizer or run.</exception>
    public static TextTrainingResult Train(LanguageModel model, TextDataset data, TextTrainingOptions options,
        Action<TextTrainingProgress>? onReport = null, Func<bool>? stop = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        if (model.VocabSize != data.Tokenizer.VocabSize)
            throw new ArgumentException($"{model} predicts {model.VocabSize} tokens but the text's tokenizer has {data.Tokenizer.VocabSize}.");
        if (data.Context > model.Context)
            throw new ArgumentException($"{model} takes at most {model.Context} tokens but the windows hold {data.Context}.");
        if (options.Steps < 1 || options.Batch < 1)
            throw new ArgumentOutOfRangeException(nameof(options), $"steps ({options.Steps}) and batch ({options.Batch}) must be at least 1.");
        if (options.ClipGradNorm is { } clip) GradClip.RequirePositive(clip, nameof(options), "the gradient norm limit (ClipGradNorm)");

        float lr = options.LearningRate, minLr = options.MinLearningRate ?? lr / 10;
        int warmup = options.WarmupSteps;
        var cosine = new CosineSchedule(Math.Max(1, options.Steps - warmup), minLr);
        LearningRateSchedule schedule = warmup > 0 ? new WarmupSchedule(cosine, warmup, 1f / warmup) : cosine;
        var optimizer = new AdamW(ParameterGroup.SplitDecay(model, options.WeightDecay), lr, 0.9f, options.Beta2, 1e-8f, options.WeightDecay);
        var loss = new CrossEntropyLoss();
        var rng = new Rng(options.Seed);
        long tokensPerStep = (long)options.Batch * data.Context;

        var wall = Stopwatch.StartNew();
        var stepping = new Stopwatch();
        double lossSum = 0;
        int lossCount = 0, step = 0;
        string? checkpointDir = options.CheckpointDirectory;
        if (options.Resume)
        {
            if (checkpointDir is null) throw new ArgumentException("resuming needs the checkpoint's directory (CheckpointDirectory).", nameof(options));
            var saved = TextCheckpoint.Load(checkpointDir, model, optimizer, data.Tokenizer, options, data.Context);
            (step, lossSum, lossCount) = (saved.Step, saved.LossSum, saved.LossCount);
            rng.State = TrainingState.Unpack(saved.SamplerRng);
            optimizer.LearningRate = schedule.Rate(lr, Math.Max(0, step - 1));   // the rate of the last step taken
        }
        int firstStep = step;
        void SaveCheckpoint()
        {
            if (checkpointDir is null) return;
            var state = new TextRunState
            {
                Step = step, SamplerRng = TrainingState.Pack(rng.State), LossSum = lossSum, LossCount = lossCount,
                Tokenizer = data.Tokenizer, Steps = options.Steps, Batch = options.Batch, Seed = options.Seed, Context = data.Context,
            };
            TextCheckpoint.Save(checkpointDir, state, model, optimizer, options.CheckpointMetadata);
        }
        using var session = TensorArena.Session();
        model.Train();   // once, not every step: walking the modules allocates, and evaluation never flips the flag
        while (step < options.Steps && stop?.Invoke() != true)
        {
            optimizer.LearningRate = schedule.Rate(lr, step);
            stepping.Start();
            lossSum += Step(model, data, options.Batch, rng, loss, optimizer, options.ClipGradNorm);
            lossCount++;
            stepping.Stop();
            step++;
            if (float.IsNaN((float)(lossSum / lossCount)) || double.IsInfinity(lossSum))
                throw new ArithmeticException($"the training loss became {lossSum / lossCount} at step {step}; try a lower --lr.");
            if (onReport is not null && options.EvalEvery > 0 && step % options.EvalEvery == 0 && step < options.Steps)
            {
                onReport(new(step, lossSum / lossCount, Loss(model, data, true, options.EvalWindows), optimizer.LearningRate, Rate(step - firstStep, tokensPerStep, stepping)));
                model.Train();   // the callback may have sampled from the model in evaluation mode
                lossSum = 0;
                lossCount = 0;
            }
            if (options.EvalEvery > 0 && step % options.EvalEvery == 0 && step < options.Steps) SaveCheckpoint();
        }
        SaveCheckpoint();
        double train = Loss(model, data, false, options.EvalWindows), val = Loss(model, data, true, options.EvalWindows);
        double tokensPerSecond = Rate(step - firstStep, tokensPerStep, stepping);
        onReport?.Invoke(new(step, lossCount > 0 ? lossSum / lossCount : train, val, optimizer.LearningRate, tokensPerSecond));
        model.Eval();
        return new TextTrainingResult(step, train, val, tokensPerSecond, wall.Elapsed.TotalSeconds)
        {
            CheckpointPath = checkpointDir is null ? null : Checkpoint.PathIn(checkpointDir),
        };
    }

    /// <summary>
    /// One optimizer step on a batch of random training windows, inside a step of the pool (buffers, tensor objects
    /// and graph nodes come back to it when the step ends, so a steady-state step allocates nothing); returns the
    /// batch's loss.
    /// </summary>
    internal static float Step(LanguageModel model, TextDataset data, int batch, Rng rng, CrossEntropyLoss loss, Optimizer optimizer, float? clipGradNorm)
    {
        using var step = TensorArena.Step();
        var (x, y) = data.RandomStepBatch(batch, rng);
        var l = loss.Compute(model.FlatLogits(x), y);
        optimizer.RecycleGrads();   // the next backward refills last step's gradient storage: no allocation
        l.Backward();
        GradClip.Apply(optimizer.Parameters, null, clipGradNorm);   // the optimizer's list has no repeats
        optimizer.Step();
        return l.Item();
    }

    /// <summary>Mean cross-entropy (nats per token) over up to <paramref name="windows"/> evenly spread windows of one part.</summary>
    public static double Loss(LanguageModel model, TextDataset data, bool validationPart, int windows = 96)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var starts = data.EvenStarts(windows, validationPart);
        var ce = new CrossEntropyLoss();
        using var inference = InferenceMode.Enter();
        using var noGrad = GradMode.NoGrad();
        double total = 0;
        const int Chunk = 16;
        for (int i = 0; i < starts.Length; i += Chunk)
        {
            int n = Math.Min(Chunk, starts.Length - i);
            using var step = TensorArena.Step();
            var (x, y) = data.Batch(starts.AsSpan(i, n), validationPart);
            total += ce.Compute(model.FlatLogits(x), y).Item() * n;
        }
        return total / starts.Length;
    }

    private static double Rate(int steps, long tokensPerStep, Stopwatch stepping) =>
        stepping.Elapsed.TotalSeconds > 0 ? steps * tokensPerStep / stepping.Elapsed.TotalSeconds : 0;
}
