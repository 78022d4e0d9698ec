using System.Diagnostics;
using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Generative;

/// <summary>How <see cref="ReconstructionTrainer.Train"/> runs: Adam at a fixed rate over shuffled mini-batches.</summary>
public sealed record ReconstructionOptions
{
    /// <summary>Passes over the training rows (default 5).</summary>
    public int Epochs { get; init; } = 5;

    /// <summary>Rows per step (default 128).</summary>
    public int Batch { get; init; } = 128;

    /// <summary>Adam's learning rate (default 0.001).</summary>
    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>Seeds the shuffling and the VAE's ε (default 1).</summary>
    public int Seed { get; init; } = 1;

    /// <summary>
    /// Which engine runs the steps (default <see cref="TrainingEngine.Auto"/>): an autoencoder whose layers the compiled
    /// step expresses (the convae) trains through it, with the MSE per pixel as its loss; a <see cref="Vae"/> and any
    /// other model through the autograd graph. <see cref="ReconstructionResult.Engine"/> says which ran.
    /// </summary>
    public TrainingEngine Engine { get; init; } = TrainingEngine.Auto;

    /// <summary>Called once before the first step with the engine that runs the steps and, for the graph, why.</summary>
    public Action<TrainingEngine, string?>? OnStart { get; init; }
}

/// <summary>How well a model reconstructs a set of rows.</summary>
/// <param name="Loss">The training objective: the MSE for an autoencoder; for a <see cref="Vae"/>, the negative ELBO per example with z sampled.</param>
/// <param name="Mse">Mean squared error per pixel of the deterministic reconstruction (a VAE decodes μ).</param>
/// <param name="Reconstruction">VAE: the BCE summed over an example's pixels, per example (z sampled); else null.</param>
/// <param name="Kl">VAE: the KL term per example; else null.</param>
/// <param name="Count">Rows scored.</param>
public sealed record ReconstructionScore(double Loss, double Mse, double? Reconstruction, double? Kl, int Count);

/// <summary>One epoch of <see cref="ReconstructionTrainer.Train"/>.</summary>
/// <param name="Epoch">1-based.</param>
/// <param name="TrainLoss">Mean objective over the epoch's steps.</param>
/// <param name="Test">The test rows' score after the epoch, or null without test rows.</param>
/// <param name="SamplesPerSecond">Training rows per second of stepping (evaluation not counted).</param>
public sealed record ReconstructionEpoch(int Epoch, double TrainLoss, ReconstructionScore? Test, double SamplesPerSecond);

/// <summary>The outcome of <see cref="ReconstructionTrainer.Train"/>.</summary>
/// <param name="Epochs">Every epoch run.</param>
/// <param name="SamplesPerSecond">Training rows per second of stepping over the whole run.</param>
/// <param name="TrainSeconds">Wall time, evaluation included.</param>
public sealed record ReconstructionResult(IReadOnlyList<ReconstructionEpoch> Epochs, double SamplesPerSecond, double TrainSeconds)
{
    /// <summary>The engine that ran the steps: <see cref="TrainingEngine.Compiled"/> or <see cref="TrainingEngine.Graph"/>.</summary>
    public TrainingEngine Engine { get; init; } = TrainingEngine.Graph;

    /// <summary>Why the steps ran through the graph; null when the compiled step ran them.</summary>
    public string? EngineReason { get; init; }
}

/// <summary>
/// Trains a model whose target is its input. An autoencoder (any module from rows [N, F] to [N, F]) minimises the
/// mean squared error per pixel against the input; a <see cref="Vae"/> minimises its negative ELBO per example,
/// BCE summed over the pixels plus the KL term (<see cref="VaeLoss"/>), with ε drawn from the run's seeded generator.
/// </summary>
/// <remarks>
/// An autoencoder trains through the compiled step when its layers allow, as
/// <see cref="Trainer"/> chooses (<see cref="ReconstructionOptions.Engine"/>): the targets are the input rows and the
/// loss is the step's MSE, which is the MSE per pixel, with the same gradients as the graph's; the rows are visited in
/// the same seeded order on either engine.
/// </remarks>
public static class ReconstructionTrainer
{
    /// <summary>Trains <paramref name="model"/> on the rows of <paramref name="train"/> [N, F]; after each epoch
    /// scores <paramref name="test"/> (when given) and calls <paramref name="onEpoch"/>; <paramref name="stop"/> ends the run early.</summary>
    /// <exception cref="ArgumentException">The data is not [N, F] rows, the model does not give back [N, F], or an option is out of range.</exception>
    public static ReconstructionResult Train(Module model, Tensor train, Tensor? test, ReconstructionOptions options,
        Action<ReconstructionEpoch>? onEpoch = null, Func<bool>? stop = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Epochs < 1 || options.Batch < 1 || !(options.LearningRate > 0))
            throw new ArgumentOutOfRangeException(nameof(options), $"epochs ({options.Epochs}), batch ({options.Batch}) and learning rate ({options.LearningRate}) must be positive.");
        CheckRows(train, "training");
        if (test is not null) CheckRows(test, "test");
        CheckModel(model, [train.Shape[1]]);

        int n = train.Shape[0], f = train.Shape[1];
        // The compiled step trains on a dataset whose targets are its features (the same tensor, not a copy).
        var rows = new Dataset(train, train, name: "reconstruction");
        var plan = Trainer.ChooseEngine(options.Engine, nameof(ReconstructionOptions), (out string? reason) =>
        {
            if (model is Vae)
            {
                reason = "a VAE's objective (BCE + KL with z sampled) is not in the compiled step";
                return null;
            }
            // The objective reshapes the output to the input's rows, so a decoder may end on an image.
            return TrainingPlan.TryCreate(model, Losses.MSE, rows, Math.Min(options.Batch, n), out reason, imageOutputAsRows: true);
        }, out var engineReason);
        var engine = plan is null ? TrainingEngine.Graph : TrainingEngine.Compiled;
        options.OnStart?.Invoke(engine, engineReason);

        var optimizer = new Adam(model.Parameters(), options.LearningRate);
        var rng = new Rng(options.Seed);
        var epochs = new List<ReconstructionEpoch>();
        var wall = Stopwatch.StartNew();
        var stepping = new Stopwatch();
        long trained = 0;
        using var session = TensorArena.Session();
        for (int epoch = 1; epoch <= options.Epochs && stop?.Invoke() != true; epoch++)
        {
            var order = rng.Permutation(n);
            double lossSum = 0;
            int steps = 0;
            long before = trained;
            var epochTime = Stopwatch.StartNew();
            model.Train();
            for (int start = 0; start < n && stop?.Invoke() != true; start += options.Batch)
            {
                int b = Math.Min(options.Batch, n - start);
                stepping.Start();
                if (plan is not null)
                {
                    // Σ over the rows of each row's MSE per pixel, and every gradient in its parameter's Grad.
                    lossSum += plan.Step(rows, order.AsSpan(start, b)).LossSum / b;
                    optimizer.Step();
                }
                else
                {
                    using var step = TensorArena.Step();
                    var x = Rows(train, order.AsSpan(start, b), f);
                    var loss = Objective(model, x, rng).Loss;
                    optimizer.RecycleGrads();   // the next backward refills last step's gradient storage: no allocation
                    loss.Backward();
                    optimizer.Step();
                    lossSum += loss.Item();
                }
                stepping.Stop();
                steps++;
                trained += b;
            }
            double seconds = epochTime.Elapsed.TotalSeconds;
            double mean = lossSum / Math.Max(1, steps);
            if (!double.IsFinite(mean)) throw new ArithmeticException($"the training loss became {mean} in epoch {epoch}; try a lower --lr.");
            var score = test is null ? null : Evaluate(model, test, options.Seed);
            var e = new ReconstructionEpoch(epoch, mean, score, seconds > 0 ? (trained - before) / seconds : 0);
            epochs.Add(e);
            onEpoch?.Invoke(e);
        }
        model.Eval();
        double rate = stepping.Elapsed.TotalSeconds > 0 ? trained / stepping.Elapsed.TotalSeconds : 0;
        return new ReconstructionResult(epochs, rate, wall.Elapsed.TotalSeconds) { Engine = engine, EngineReason = engineReason };
    }

    /// <summary>
    /// Scores the rows of <paramref name="images"/> [N, F] in evaluation mode without a graph: the MSE of the
    /// deterministic reconstruction (through the compiled forward when the model allows, see <see cref="Predictor"/>)
    /// and, for a VAE, the negative ELBO with ε from a generator seeded by <paramref name="seed"/>.
    /// </summary>
    public static ReconstructionScore Evaluate(Module model, Tensor images, int seed = 1, int batch = 500)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(images);
        CheckRows(images, "evaluation");
        using var inference = InferenceMode.Enter();
        using var noGrad = GradMode.NoGrad();
        var rng = new Rng(seed);
        int n = images.Shape[0], f = images.Shape[1];
        double loss = 0, sse = 0, reconstruction = 0, kl = 0;
        bool vae = model is Vae;
        // An autoencoder's objective is its MSE, so one forward pass scores it, through the compiled forward when the
        // model allows (Predictor); a VAE's reconstruction decode(μ) and its sampled objective run through the graph.
        var predictor = vae ? null : Predictor.For(model, null);
        var all = Enumerable.Range(0, n).ToArray();
        for (int start = 0; start < n; start += batch)
        {
            int b = Math.Min(batch, n - start);
            using var step = TensorArena.Step();
            var x = Rows(images, all.AsSpan(start, b), f);
            var mean = (predictor?.Predict(x) ?? model.Forward(x)).Reshape(b, f);
            var diff = mean - x;
            sse += (diff * diff).Sum().Item();
            if (!vae) continue;
            var (l, r, k) = Objective(model, x, rng);
            loss += l.Item() * b;
            reconstruction += r!.Item() * b;
            kl += k!.Item() * b;
        }
        double mse = sse / ((double)n * f);
        return new ReconstructionScore(vae ? loss / n : mse, mse, vae ? reconstruction / n : null, vae ? kl / n : null, n);
    }

    /// <summary>
    /// The objective on one batch x [B, F]: an autoencoder's MSE per pixel against x, or a VAE's negative ELBO per
    /// example (z sampled with <paramref name="rng"/>) with its two terms.
    /// </summary>
    public static (Tensor Loss, Tensor? Reconstruction, Tensor? Kl) Objective(Module model, Tensor x, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(x);
        if (model is Vae vae)
        {
            var output = vae.ForwardSampled(x, rng);
            var (loss, reconstruction, kl) = VaeLoss.NegativeElbo(output with { Reconstruction = output.Reconstruction.Reshape([.. x.Shape]) }, x);
            return (loss, reconstruction, kl);
        }
        var y = model.Forward(x).Reshape([.. x.Shape]);
        var d = y - x;
        return ((d * d).Mean(), null, null);
    }

    /// <summary>Rows <paramref name="indices"/> of <paramref name="x"/> [N, F], copied into a step-scoped tensor.</summary>
    private static Tensor Rows(Tensor x, ReadOnlySpan<int> indices, int f)
    {
        var rows = Tensor.Uninitialized([indices.Length, f]);
        for (int i = 0; i < indices.Length; i++) x.data.AsSpan(indices[i] * f, f).CopyTo(rows.data.AsSpan(i * f, f));
        return rows;
    }

    private static void CheckRows(Tensor x, string what)
    {
        if (x.Rank != 2 || x.Shape[0] < 1)
            throw new ArgumentException($"the {what} images must be rows [N, F] with N ≥ 1 but are {Shapes.Format([.. x.Shape])}.");
    }

    /// <summary>
    /// Refuses a model that does not give back its input: for rows of <paramref name="sampleShape"/> flattened, the
    /// output per example must be the flat row [F] or, for an image, <paramref name="sampleShape"/> itself (a
    /// convolutional decoder without its flatten). Given only [F], any output of F values is accepted.
    /// </summary>
    /// <exception cref="ArgumentException">The model gives another shape, naming both.</exception>
    public static void CheckModel(Module model, IReadOnlyList<int> sampleShape)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sampleShape);
        int f = sampleShape.Aggregate(1, (a, d) => a * d);
        var output = ModelLanguage.OutputShape(model, [f]);
        bool fits = sampleShape.Count == 1 ? output.Aggregate(1, (a, d) => a * d) == f
            : output.SequenceEqual([f]) || output.SequenceEqual(sampleShape);
        if (!fits)
            throw new ArgumentException($"a model trained to reconstruct its input must give back {(sampleShape.Count == 1 ? $"{f} values per example" : $"{ModelLanguage.FormatShape([f])} or {ModelLanguage.FormatShape(sampleShape)}")}, " +
                $"but {model} gives {ModelLanguage.FormatShape(output)}.");
    }
}
