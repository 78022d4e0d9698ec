using System.Globalization;
using System.Text.Json.Nodes;
using Backprop.Data;
using Backprop.Generative;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Reporting;
using Backprop.Training;

namespace Backprop.Cli;

/// <summary>
/// <c>backprop train --task reconstruct</c> (implied by <c>--model convae</c> or <c>--model vae</c>): trains a model
/// whose target is its input on an image dataset, reports the test MSE (and a VAE's BCE and KL), saves the model, and
/// with <c>--report</c> draws test images beside their reconstructions (and a VAE's samples and latent plane).
/// <c>backprop evaluate</c> of such a model scores reconstructions the same way.
/// </summary>
internal static class AutoencoderTrain
{
    public const string Help =
        "  --task reconstruct   train an autoencoder: the target is the input image (implied by --model convae or vae),\n" +
        "                       on --dataset fashion-mnist (or mnist --data-dir DIR); --model convae[:channels=16] (default),\n" +
        "                       vae[:latent=2,hidden=400] or a spec whose output has the input's size; pixels stay in [0, 1];\n" +
        "                       loss: MSE per pixel, or for vae BCE summed per image + KL; --epochs (5), --batch (128), --lr\n" +
        "                       (0.001, Adam), --seed, --limit, --save, --report, --json; --engine auto|compiled|graph as\n" +
        "                       for classifiers (the convae trains on the compiled step, a vae on the graph)\n";

    /// <summary>The <c>loss</c> a saved autoencoder records, which tells <c>evaluate</c> to score reconstructions.</summary>
    public const string AutoencoderLoss = "reconstruction_mse", VaeLossName = "vae_bce_kl";

    /// <summary>Whether the arguments ask for reconstruction training.</summary>
    public static bool Applies(string[] args)
    {
        string? Value(string name)
        {
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i] == $"--{name}" && i + 1 < args.Length) return args[i + 1];
                if (args[i].StartsWith($"--{name}=", StringComparison.Ordinal)) return args[i][(name.Length + 3)..];
            }
            return null;
        }
        return Value("task") is "reconstruct" or "reconstruction" || (Value("model") is { } m && AutoencoderPreset.IsPreset(m));
    }

    /// <summary>Whether a saved model was trained to reconstruct its input.</summary>
    public static bool IsReconstructionModel(ModelInfo info) => info.Loss is AutoencoderLoss or VaeLossName;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        string[] values = ["dataset", "data-dir", "task", "model", "epochs", "batch", "lr", "seed", "limit", "save", "report", "engine"];
        CommandLine cl;
        try { cl = new CommandLine(args, values, ["json"]); }
        catch (UsageException e) when (e.Message.StartsWith("unknown option", StringComparison.Ordinal))
        {
            // train --help lists every task's options; say which of them an autoencoder run takes.
            throw new UsageException($"{e.Message.TrimEnd('.')} for an autoencoder (--task reconstruct), which takes " +
                $"{string.Join(", ", values.Select(v => "--" + v))} and --json, and prints every epoch.");
        }
        if (cl.Positionals.Count > 0) throw new UsageException($"unexpected argument '{cl.Positionals[0]}'.");
        if (cl.String("task") is { } task && task is not ("reconstruct" or "reconstruction"))
            throw new UsageException($"--model {cl.String("model")} is an autoencoder, which trains with --task reconstruct, not --task {task}.");
        bool json = cl.Has("json");
        var log = json ? stderr : stdout;
        int seed = cl.Int("seed", 1);
        var engine = TrainCommand.EngineOption(cl);
        var options = new ReconstructionOptions
        {
            Epochs = cl.Int("epochs", 5, min: 1), Batch = cl.Int("batch", 128, min: 1),
            LearningRate = cl.Float("lr", 1e-3f, min: float.Epsilon), Seed = seed, Engine = engine,
            OnStart = (ran, reason) => log.WriteLine($"engine  {TrainCommand.EngineLine(ran, reason, engine)}"),
        };
        var spec = cl.String("model", "convae");
        AutoencoderPreset? preset = null;
        if (AutoencoderPreset.IsPreset(spec))
        {
            try { preset = AutoencoderPreset.Parse(spec); }
            catch (FormatException e) { throw new UsageException($"--model: {e.Message}"); }
        }
        var (train, test) = DataOptions.LoadPredefinedSplit(cl) ?? throw new UsageException(
            "--task reconstruct trains on images: give --dataset fashion-mnist (apt-get install dataset-fashion-mnist) or --dataset mnist --data-dir DIR.");
        string savePath = cl.String("save", $"{cl.String("dataset")}-{(preset?.Kind ?? "ae")}.safetensors");
        OutputPaths.CheckFile("--save", savePath);
        if (cl.String("report") is { } reportDir) OutputPaths.CheckFolder("--report", reportDir, "index.html");
        if (cl.Has("limit"))
        {
            int limit = cl.Int("limit", 0, min: 1);
            train = train.Take(limit);
            test = test.Take(limit);
        }
        var shape = train.SampleShape;
        var model = preset?.Build(shape, new Rng(seed)) ?? ModelLanguage.Build(spec, shape, new Rng(seed));
        ReconstructionTrainer.CheckModel(model, shape);

        log.WriteLine($"data    {train.Name} / {test.Name}: train {train.Count} / test {test.Count} images [{string.Join(", ", shape)}], pixels in [0, 1] (not standardized); target = input");
        log.WriteLine($"model   {(preset is null ? "" : $"{preset}: ")}{model}, {model.ParameterCount():N0} parameters");
        log.WriteLine($"train   adam lr {F(options.LearningRate)}, {(model is Vae ? "BCE summed per image + KL (−ELBO per image)" : "MSE per pixel")}, batch {options.Batch}, {options.Epochs} epoch{(options.Epochs == 1 ? "" : "s")}, seed {seed}");
        using var ctrlC = new CtrlC(stderr);
        var result = ReconstructionTrainer.Train(model, train.Features, test.Features, options,
            e => log.WriteLine($"epoch {e.Epoch.ToString(CultureInfo.InvariantCulture).PadLeft(options.Epochs.ToString(CultureInfo.InvariantCulture).Length)}/{options.Epochs}  loss {F(e.TrainLoss)}  {Scores(e.Test!)}  {e.SamplesPerSecond:N0} samples/s"),
            () => ctrlC.Token.IsCancellationRequested);
        var score = ReconstructionTrainer.Evaluate(model, test.Features, seed);
        log.WriteLine($"test    {Scores(score)}  ({score.Count} images)");

        model.Save(savePath, new ModelInfo
        {
            FeatureNames = train.FeatureNames, Loss = model is Vae ? VaeLossName : AutoencoderLoss,
            Dataset = cl.String("dataset") ?? train.Name,
        });
        log.WriteLine($"saved   {savePath}");
        if (cl.String("report") is { } dir)
        {
            log.WriteLine($"report  {WriteReport(dir, "Reconstruction report", model, test, shape, seed, score, result.Epochs,
                [new("data", $"{train.Name} ({train.Count} images) / {test.Name} ({test.Count})"), new("model", $"{model}, {model.ParameterCount():N0} parameters"),
                 new("training", $"adam lr {F(options.LearningRate)}, batch {options.Batch}, {result.Epochs.Count} of {options.Epochs} epochs, seed {seed}"), new("saved", savePath)])}");
        }
        if (json)
            stdout.WriteLine(Json.Write(new JsonObject
            {
                ["dataset"] = train.Name, ["model"] = model.ToString(), ["parameters"] = model.ParameterCount(), ["epochs"] = result.Epochs.Count,
                ["train_loss"] = result.Epochs.Count > 0 ? result.Epochs[^1].TrainLoss : null, ["test_loss"] = score.Loss, ["test_mse"] = score.Mse,
                ["test_reconstruction"] = score.Reconstruction, ["test_kl"] = score.Kl, ["test_rows"] = score.Count, ["train_rows"] = train.Count,
                ["engine"] = result.Engine == TrainingEngine.Compiled ? "compiled" : "graph", ["engine_reason"] = result.EngineReason,
                ["samples_per_s"] = result.SamplesPerSecond, ["train_seconds"] = Math.Round(result.TrainSeconds, 4), ["saved"] = savePath,
                ["interrupted"] = ctrlC.Token.IsCancellationRequested,
            }));
        return ctrlC.Token.IsCancellationRequested ? ctrlC.ExitCode : 0;
    }

    /// <summary><c>backprop evaluate</c> of a reconstruction model: its scores on the images (default: the test set it was trained beside).</summary>
    public static int Evaluate(CommandLine cl, SavedModel saved, TextWriter stdout, TextWriter stderr)
    {
        var data = DataOptions.LoadPredefinedSplit(cl, saved.BuiltInDataset)?.Test ?? throw new UsageException(
            $"{saved.Path} reconstructs images: evaluate it on --dataset fashion-mnist or --dataset mnist --data-dir DIR.");
        if (data.NumFeatures != saved.Info.FeatureNames.Count)
            throw new ShapeMismatchException($"{saved.Path} reconstructs images of {saved.Info.FeatureNames.Count} pixels but {data.Name}'s have {data.NumFeatures}.");
        int seed = cl.Int("seed", 1);
        var score = ReconstructionTrainer.Evaluate(saved.Model, data.Features, seed);
        bool json = cl.Has("json");
        if (json)
            stdout.WriteLine(Json.Write(new JsonObject
            {
                ["rows"] = score.Count, ["loss"] = score.Loss, ["mse"] = score.Mse, ["reconstruction"] = score.Reconstruction, ["kl"] = score.Kl,
            }));
        else stdout.WriteLine($"{data.Name}: {score.Count} images  {Scores(score)}");
        if (cl.String("report") is { } dir)
            (json ? stderr : stdout).WriteLine($"report  {WriteReport(dir, "Reconstruction report", saved.Model, data, data.SampleShape, seed, score, [],
                [new("model", $"{saved.Path}: {saved.Model}"), new("data", data.ToString())])}");
        return 0;
    }

    private static string WriteReport(string dir, string title, Module model, Dataset test, IReadOnlyList<int> shape, int seed, ReconstructionScore score,
        IReadOnlyList<ReconstructionEpoch> epochs, IReadOnlyList<KeyValuePair<string, string>> config)
    {
        var report = ReconstructionReport.Create(model, test.Features, shape, seed);
        report.Title = title;
        report.Test = score;
        report.Epochs = epochs;
        report.Config = [.. config, new("written", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture))];
        return report.Write(dir);
    }

    /// <summary>The scores on one line: the MSE, and for a VAE the −ELBO with its two terms.</summary>
    private static string Scores(ReconstructionScore s) =>
        s.Reconstruction is { } r ? $"test_loss {F(s.Loss)} (bce {F(r)} + kl {F(s.Kl!.Value)} per image)  test_mse {F(s.Mse)}" : $"test_mse {F(s.Mse)}";

    private static string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
}
