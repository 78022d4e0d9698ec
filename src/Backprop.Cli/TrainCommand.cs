using System.Globalization;
using System.Text.Json.Nodes;
using Backprop.Data;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Cli;

/// <summary><c>backprop train</c>: builds an MLP, trains it with a held-out test split, reports, saves.</summary>
internal sealed class TrainCommand : ICommand
{
    public string Name => "train";
    public string Summary => "train a network (default: an MLP on the embedded Iris data) and save it";
    public string Usage =>
        "usage: backprop train [options]\n\n" + DataOptions.Help +
        "  --model mlp:H1,H2    hidden layer sizes (default mlp:100; 'mlp' alone is a linear model)\n" +
        "  --model SPEC         or layers joined by '-', e.g. \"dense(64)-relu-dense(10)\" (see 'backprop summary --help')\n" +
        "  --activation NAME    hidden activation of mlp:...: sigmoid, tanh, relu (default), leaky_relu\n" +
        LossOptions.Help +
        "  --optimizer NAME     adam (default), adamw (decoupled weight decay) or sgd\n" +
        "  --lr RATE            learning rate (default 0.001)\n" +
        "  --momentum M         SGD momentum (default 0)\n" +
        "  --weight-decay L     L2 penalty for adam and sgd, decoupled decay for adamw (default 0; adamw 0.01)\n" +
        "  --epochs N           passes over the training data (default: up to 500, stopped early when the\n" +
        "                       validation loss has not improved for 10 epochs, best weights restored)\n" +
        "  --batch N            mini-batch size (default 32)\n" +
        "  --seed N             seed for the split, initial weights and shuffling (default 1)\n" +
        "  --test-split F       fraction held out for testing (default 0.2; data under 25 rows trains and is\n" +
        "                       scored on all rows, for 1000 epochs, unless this is given)\n" +
        TestDataOption.Help +
        "  --limit N            use only the first N training rows and the first N test rows (a quick check)\n" +
        "  --val-split F        fraction of the training rows held out (stratified) for validation (default 0.1;\n" +
        "                       0 with --epochs unless --patience): epoch lines and early stopping use it\n" +
        "  --patience N         stop early after N epochs without validation improvement (default 10 without\n" +
        "                       --epochs; off with --epochs)\n" +
        ScheduleOption.Help + LossOptions.ClipHelp + TrainCheckpoint.Help +
        "  --engine NAME        auto (default): the compiled step when the model allows it, else the autograd graph;\n" +
        "                       compiled: fail when it does not; graph: always the graph (the 'engine' line says which)\n" +
        "  --no-standardize     feed raw features (default: images are normalized with one mean and std over all\n" +
        "                       train pixels, table columns each standardized with train statistics)\n" +
        "                       Regression targets are standardized for training; results are in their own units.\n" +
        "  --log-every N        print every N-th epoch (default: about 20 lines in all)\n" +
        "  --save FILE          where to save the model (default: <dataset>.safetensors)\n" + ReportOption.Help + DistributedRun.Help +
        "  --json               print one JSON object with the results (progress goes to stderr)\n" + TextTrain.Help + AutoencoderTrain.Help;

    /// <summary>Tests: a condition after a batch that acts like the first Ctrl-C.</summary>
    internal Func<BatchProgress, bool>? InterruptWhen { get; init; }

    public int Run(string[] args, TextWriter stdout, TextWriter stderr) => DistributedRun.Wrap(args, stdout, stderr, Train);

    private int Train(string[] args, TextWriter stdout, TextWriter stderr, DistributedRun? dist)
    {
        if (args.Any(a => a == "--text" || a.StartsWith("--text=", StringComparison.Ordinal)))
        {
            if (args.Contains("--distributed")) throw new UsageException("--distributed trains tables and images; --text trains a language model on one process.");
            return TextTrain.Run(args, stdout, stderr);
        }
        if (AutoencoderTrain.Applies(args))
        {
            if (args.Contains("--distributed")) throw new UsageException("--distributed trains classifiers and regressors; --task reconstruct trains an autoencoder on one process.");
            return AutoencoderTrain.Run(args, stdout, stderr);
        }
        var cl = new CommandLine(args,
            [.. DataOptions.ValueOptions, "model", "activation", .. LossOptions.Names, "optimizer", "lr", "momentum", "weight-decay", "epochs", "batch",
             "seed", "test-split", "test-data", "limit", "patience", "log-every", "save", "report", "val-split", "schedule", "warmup", "checkpoint", "engine", "distributed-timeout"],
            ["json", "no-standardize", "resume", "overwrite", "distributed"]);
        if (cl.Positionals.Count > 0) throw new UsageException($"unexpected argument '{cl.Positionals[0]}'.");
        TrainChecks.Options(cl);

        int seed = cl.Int("seed", 1);
        int batch = cl.Int("batch", TrainDefaults.Batch, min: 1);
        DistributedRun.Check(cl);
        dist?.CheckBatch(batch);
        float lr = cl.Float("lr", TrainDefaults.LearningRate, min: float.Epsilon);
        float testSplit = cl.Float("test-split", TrainDefaults.TestSplit, min: 0f, maxExclusive: 1f);
        bool json = cl.Has("json");
        var log = json ? stderr : stdout;
        var checkpointDir = cl.String("checkpoint");
        if (cl.Has("resume") && checkpointDir is null) throw new UsageException("--resume needs --checkpoint DIR (the folder of the run to continue).");
        TrainOutputs.CheckBeforeData(cl);
        var engine = EngineOption(cl);

        var predefined = DataOptions.LoadPredefinedSplit(cl) ?? TestDataOption.Load(cl, seed);
        var data = predefined?.Train ?? DataOptions.Load(cl, seed);
        var modelSpec = cl.String("model", TrainDefaults.Model);
        var hidden = ModelLanguage.IsMlpShorthand(modelSpec) ? Mlp.ParseHidden(modelSpec) : null;
        if (hidden is null && cl.Has("activation"))
            throw new UsageException("--activation goes with --model mlp:...; write the activations into the spec, e.g. dense(64)-relu-dense(10).");
        string activation = cl.String("activation", TrainDefaults.Activation);
        var loss = LossOptions.Parse(cl, data);
        var (clipNorm, clipValue) = LossOptions.Clipping(cl);
        CheckLossFitsData(loss, data);
        TrainChecks.Data(data, cl.String("target"));

        bool tiny = TrainDefaults.IsTiny(cl, data, predefined is not null);
        var (train, test) = predefined is { } official ? official
            : tiny ? (data, data) : testSplit > 0 ? data.Split(1 - testSplit, seed) : (data, null);
        if (cl.Has("limit"))
        {
            int limit = cl.Int("limit", 0, min: 1);
            train = train.Take(limit);
            test = test?.Take(limit);
        }
        var rawTest = test;
        if (cl.Has("report") && test is null) throw new UsageException("--report needs a test set; give --test-split above 0.");
        var length = TrainDefaults.Length(cl, tiny);
        int epochs = length.Epochs;
        // The run's length can depend on the data (tiny sets train longer), so this comes after loading it.
        if (cl.Has("resume")) TrainCheckpoint.CheckPosition(checkpointDir!, epochs);
        Dataset? val = null;
        if (length.ValidationSplit > 0) (train, val) = train.Split(1 - length.ValidationSplit, seed + 1);
        var schedule = ScheduleOption.Parse(cl, epochs, length.Schedule, (train.Count + batch - 1) / batch);
        Standardizer? scaler = cl.Has("no-standardize") ? null : Preprocessing.FitInputs(train);
        if (scaler is not null)
        {
            train = scaler.Transform(train);
            if (test is not null) test = scaler.Transform(test);
            if (val is not null) val = scaler.Transform(val);
        }
        Standardizer? targetScaler = data.IsClassification ? null : Preprocessing.FitTargets(train);
        if (targetScaler is not null)
        {
            train = Preprocessing.StandardizeTargets(train, targetScaler);
            if (test is not null) test = Preprocessing.StandardizeTargets(test, targetScaler);
            if (val is not null) val = Preprocessing.StandardizeTargets(val, targetScaler);
        }
        Func<Tensor, Tensor> toTargetUnits = z => targetScaler is null ? z : Preprocessing.Unstandardize(z, targetScaler.Mean, targetScaler.Std);
        // Hashing 60,000 images takes a moment: once, for both the resume check and the checkpoint's metadata.
        var dataHash = checkpointDir is null ? null : TrainCheckpoint.Hash(train, val);

        TrainChecks.Batch(cl, batch, train.Count, stderr);
        int outputs = OutputCount(loss, data);
        var model = hidden is not null
            ? Mlp.Create(data.NumFeatures, hidden, outputs, activation, LossOptions.OutputActivation(loss), new Rng(seed))
            : BuildFromSpec(modelSpec, data, cl.String("dataset") ?? data.Name, loss, outputs, seed);
        Optimizer optimizer = cl.String("optimizer", "adam") switch
        {
            "adam" => new Adam(model.Parameters(), lr, weightDecay: cl.Float("weight-decay", 0f, min: 0f)),
            "adamw" => new AdamW(model.Parameters(), lr, weightDecay: cl.Float("weight-decay", 0.01f, min: 0f)),
            "sgd" => new Sgd(model.Parameters(), lr, momentum: cl.Float("momentum", 0f, min: 0f, maxExclusive: 1f), weightDecay: cl.Float("weight-decay", 0f, min: 0f)),
            var o => throw new UsageException($"--optimizer must be adam, adamw or sgd but got '{o}'."),
        };

        TrainChecks.Warn(model, loss, optimizer, stderr);
        string inputs = InputsText(scaler, train);
        log.WriteLine($"data    {data}; " + (tiny ? $"train and test on all {data.Count} rows (under {TrainDefaults.TinyRows}: too few to hold out a test set)"
            : $"train {train.Count}{(val is null ? "" : $" / validation {val.Count}")} / test {test?.Count ?? 0} rows")
            + $", {inputs}{(targetScaler is null ? "" : "; targets standardized with train statistics (results in their own units)")}");
        log.WriteLine($"model   {model}, {model.ParameterCount()} parameters");
        log.WriteLine($"train   {optimizer.Name} lr {F(lr)}{(schedule is null ? "" : $" {schedule}")}, {loss.Name}, batch {batch}, {length.Text}, seed {seed}");
        if (dist is not null) log.WriteLine(dist.Line(batch));

        int logEvery = cl.Int("log-every", Math.Max(1, (int)Math.Ceiling(epochs / 20.0)), min: 1);
        var early = length.Early;
        var bar = !json && ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected ? new ProgressBar(stdout) : null;
        var savePath = cl.String("save", $"{SafeFileName(cl.String("dataset") ?? data.Name)}.safetensors");
        TrainOutputs.CheckBeforeTraining(cl, savePath, model, optimizer, early is not null, epochs, data.NumFeatures);
        if (cl.Has("resume")) TrainCheckpoint.CheckResume(cl, checkpointDir!, dataHash!);
        using var ctrlC = new CtrlC(stderr);
        var history = TrainChecks.Fit(() => model.Fit(train, loss, optimizer, new FitOptions
        {
            Epochs = epochs, BatchSize = batch, Validation = val ?? test, ValidationIsTest = val is null, Seed = seed, EarlyStopping = early, Schedule = schedule,
            SchedulePerStep = ScheduleOption.PerStep(schedule),
            CheckpointDirectory = checkpointDir, Resume = cl.Has("resume"), Cancellation = dist?.Parallel.Agree(ctrlC.Token) ?? ctrlC.Token,
            Parallel = dist?.Parallel,
            CheckpointMetadata = dataHash is null ? null : TrainCheckpoint.Metadata(cl, dataHash), Engine = engine,
            ClipGradNorm = clipNorm, ClipGradValue = clipValue,
            OnStart = h => log.WriteLine($"engine  {EngineLine(h.Engine, h.EngineReason, engine)}"),
            OnBatch = p =>
            {
                bar?.Update(p);
                if (InterruptWhen?.Invoke(p) == true) ctrlC.Cancel();
            },
            OnEpoch = m =>
            {
                bool shown = m.Epoch % logEvery == 0 || m.Epoch == 1 || m.Epoch == epochs;
                if (bar is not null) bar.Finish(shown ? FormatEpoch(m, epochs, val is null) : null);
                else if (shown) log.WriteLine(FormatEpoch(m, epochs, val is null));
            },
        }), lr, bar, json, stdout);
        if (dist is { IsRoot: false }) return history.Cancelled ? ctrlC.ExitCode : 0;   // rank 0 evaluates, reports and saves
        if (dist is not null) log.WriteLine(dist.Summary());
        if (history.Cancelled)
        {
            bar?.Finish(null);
            if (history.CheckpointPath is not null)
            {
                log.WriteLine($"interrupted; saved {history.CheckpointPath}. Continue with: backprop train {string.Join(' ', args.Where(a => a is not ("--resume" or "--overwrite")))} --resume");
                if (json) stdout.WriteLine(Json.Write(ResultJson(data.Name, model, history, train.Count, val?.Count ?? 0, tiny, inputs, null, null, null)));
                return ctrlC.ExitCode;
            }
        }
        if (history.StoppedEarly && history.Last.Epoch % logEvery != 0 && history.Last.Epoch != 1)
            log.WriteLine(FormatEpoch(history.Last, epochs));   // the epoch that ended the run, between two logged ones
        if (history.StoppedEarly)
            log.WriteLine($"stopped early after epoch {history.Last.Epoch}; restored the weights of epoch {history.BestEpoch}");
        else if (early?.RestoreBestWeights == true && history.BestEpoch != history.Last.Epoch)
            log.WriteLine($"ran all {history.Last.Epoch} epochs; restored the weights of epoch {history.BestEpoch} (lowest validation loss)");

        var evaluation = test is null ? null : model.Evaluate(test, loss);
        var scores = evaluation is null || targetScaler is null ? null : RegressionScores.Of(model, test!.Features, rawTest!.Targets, toTargetUnits);
        if (evaluation is not null)
            log.WriteLine($"test    loss {F(evaluation.Loss)}" + (evaluation.Accuracy is { } acc
                ? $"  accuracy {F(acc)} ({(int)Math.Round(acc * evaluation.Count)}/{evaluation.Count})" : "")
                + (scores is null ? "" : RegressionScores.Line(scores)) + (tiny ? " (the training rows)" : ""));

        model.Save(savePath, new ModelInfo
        {
            FeatureNames = data.FeatureNames,
            ClassNames = data.ClassNames,
            InputMean = scaler?.Mean,
            InputStd = scaler?.Std,
            TargetMean = targetScaler?.Mean,
            TargetStd = targetScaler?.Std,
            Loss = loss.Name,
            Dataset = cl.String("dataset") ?? data.Name,
            TargetName = cl.String("target"),
        });
        log.WriteLine($"saved   {savePath}");
        if (history.Cancelled)
        {
            if (json) stdout.WriteLine(Json.Write(ResultJson(data.Name, model, history, train.Count, val?.Count ?? 0, tiny, inputs, evaluation, scores, savePath)));
            return Interrupted(log, history, epochs, savePath, ctrlC.ExitCode);
        }
        if (test is not null && evaluation is not null)
            ReportOption.WriteIfAsked(cl, log, "Training report", model, loss, rawTest!, test, evaluation, history,
                [new("dataset", data.ToString()), new("model", $"{model}, {model.ParameterCount()} parameters"),
                 new("training", $"{optimizer.Name} lr {F(lr)}, {loss.Name}, batch {batch}, {history.Epochs.Count} of {epochs} epochs, seed {seed}"),
                 new("features", inputs), new("saved", savePath)], toTargetUnits);

        if (json) stdout.WriteLine(Json.Write(ResultJson(data.Name, model, history, train.Count, val?.Count ?? 0, tiny, inputs, evaluation, scores, savePath)));
        return 0;
    }

    // The one JSON object of --json: after a finished run, and after an interrupted one (then "interrupted" is true,
    // with the model file or the checkpoint it left; the test figures are there when the test set was scored).
    private static JsonObject ResultJson(string dataset, Module model, History history, int trainRows, int validationRows,
        bool allRows, string inputs, Evaluation? evaluation, Backprop.Reporting.RegressionMetrics? scores, string? savePath)
    {
        bool anyEpoch = history.Epochs.Count > 0;
        var result = new JsonObject
        {
            ["dataset"] = dataset,
            ["model"] = model.ToString(),
            ["parameters"] = model.ParameterCount(),
            ["epochs"] = history.Epochs.Count,
            ["train_seconds"] = Math.Round(history.TotalSeconds, 4),
            ["train_loss"] = anyEpoch ? history.Last.Loss : null,
            ["train_accuracy"] = anyEpoch ? history.Last.Accuracy : null,
            ["test_loss"] = evaluation?.Loss,
            ["test_accuracy"] = evaluation?.Accuracy,
            ["test_rows"] = evaluation?.Count ?? 0,
            ["train_rows"] = trainRows,
            ["validation_rows"] = validationRows,
            ["all_rows"] = allRows,
            ["preprocessing"] = inputs,
            ["stopped_early"] = history.StoppedEarly,
            ["interrupted"] = history.Cancelled,
            ["engine"] = history.Engine == TrainingEngine.Compiled ? "compiled" : "graph",
            ["engine_reason"] = history.EngineReason,
            ["saved"] = savePath,
        };
        if (history.CheckpointPath is not null) result["checkpoint"] = history.CheckpointPath;
        RegressionScores.AddTo(result, scores, "test_");
        return result;
    }

    // Without --checkpoint an interrupted run is saved as a model file: its weights are kept, but not the optimizer
    // state and position that resuming needs.
    private static int Interrupted(TextWriter log, History history, int epochs, string savePath, int exitCode)
    {
        log.WriteLine($"interrupted after {history.Epochs.Count} of {epochs} epochs; saved the model trained so far to {savePath}. " +
            "It cannot be resumed: that needs a checkpoint (train with --checkpoint DIR to be able to stop and continue).");
        return exitCode;
    }

    private static string InputsText(Standardizer? scaler, Dataset train) =>
        scaler is null ? "raw features"
        : Preprocessing.IsImage(train) ? $"images normalized with one mean {F(scaler.Mean[0])} and std {F(scaler.Std[0])} over all train pixels"
        : "features standardized per column with train statistics";

    /// <summary>The <c>--engine</c> option: auto (default), compiled or graph.</summary>
    internal static TrainingEngine EngineOption(CommandLine cl) => cl.String("engine", "auto") switch
    {
        "auto" => TrainingEngine.Auto,
        "compiled" => TrainingEngine.Compiled,
        "graph" => TrainingEngine.Graph,
        var e => throw new UsageException($"--engine must be auto, compiled or graph but got '{e}'."),
    };

    /// <summary>The <c>engine</c> line: <c>compiled step</c>, or <c>autograd graph (why)</c>.</summary>
    internal static string EngineLine(TrainingEngine ran, string? reason, TrainingEngine asked) =>
        ran == TrainingEngine.Compiled ? "compiled step"
        : asked == TrainingEngine.Graph ? "autograd graph (--engine graph)"
        : $"autograd graph ({reason})";

    private static void CheckLossFitsData(ILoss loss, Dataset data)
    {
        if (!data.IsClassification && loss.Name is "cross_entropy" or "bce" or "bce_logits" or "nll")
            throw new UsageException($"--loss {loss.Name} needs class labels, but the target of '{data.Name}' is numeric; use mse, or --task classify.");
        if (loss.Name is "bce" or "bce_logits" && data.NumClasses > 2)
            throw new UsageException($"--loss {loss.Name} is for two classes, but '{data.Name}' has {data.NumClasses}; use cross_entropy.");
    }

    /// <summary>A model-language spec built for the data's example shape, checked to end with the outputs the loss needs.</summary>
    private static Sequential BuildFromSpec(string spec, Dataset data, string dataName, ILoss loss, int outputs, int seed)
    {
        var model = ModelLanguage.Build(spec, data.SampleShape, new Rng(seed));
        LossOptions.CheckModelEnd(loss, model);
        var end = ModelSummary.Of(model, [data.NumFeatures]).OutputShape;
        if (end.Count == 1 && end[0] == outputs) return model;
        string got = end.Count == 1 ? $"{end[0]} output{(end[0] == 1 ? "" : "s")}" : $"outputs of shape {ModelLanguage.FormatShape(end)}";
        string want = loss.Name is "bce" or "bce_logits" ? $"--loss {loss.Name} needs 1 (the score of the positive class)"
            : data.IsClassification ? $"{dataName} has {outputs} classes"
            : $"the target of {dataName} has {outputs} value{(outputs == 1 ? "" : "s")} per row";
        throw new ArgumentException($"model ends with {got} but {want}.");
    }

    private static int OutputCount(ILoss loss, Dataset data) =>
        loss.Name is "bce" or "bce_logits" ? 1 : data.IsClassification ? data.NumClasses : data.Targets.Shape[1];

    /// <summary>One epoch's line; <paramref name="test"/>: its held-out metrics are the test split's (<c>test_loss</c>), not a validation split's (<c>val_loss</c>).</summary>
    internal static string FormatEpoch(EpochMetrics m, int epochs, bool test = false)
    {
        string split = test ? "test" : "val";
        var line = $"epoch {m.Epoch.ToString(CultureInfo.InvariantCulture).PadLeft(epochs.ToString(CultureInfo.InvariantCulture).Length)}/{epochs}  loss {F(m.Loss)}";
        if (m.Accuracy is { } a) line += $"  acc {F(a)}";
        if (m.ValidationLoss is { } vl) line += $"  {split}_loss {F(vl)}";
        if (m.ValidationAccuracy is { } va) line += $"  {split}_acc {F(va)}";
        line += $"  {m.SamplesPerSecond.ToString("N0", CultureInfo.InvariantCulture)} samples/s";
        return line;
    }

    internal static string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);

    private static string SafeFileName(string name)
    {
        var invalid = Path.GetInvalidFileNameChars();
        var clean = new string([.. Path.GetFileNameWithoutExtension(name).Select(c => invalid.Contains(c) || c == ' ' ? '_' : c)]);
        return clean.Length == 0 ? "model" : clean;
    }
}
