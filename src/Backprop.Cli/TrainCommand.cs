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
        "  --model mlp:H1,H2    hidden layer sizes (default mlp:16; 'mlp' alone is a linear model)\n" +
        "  --model SPEC         or layers joined by '-', e.g. \"dense(64)-relu-dense(10)\" (see 'backprop summary --help')\n" +
        "  --activation NAME    hidden activation of mlp:...: sigmoid, tanh (default), relu, leaky_relu\n" +
        "  --loss NAME          cross_entropy (default for classes), mse (default for regression), half_mse, bce, bce_logits\n" +
        "  --optimizer NAME     adam (default), adamw (decoupled weight decay) or sgd\n" +
        "  --lr RATE            learning rate (default 0.01)\n" +
        "  --momentum M         SGD momentum (default 0)\n" +
        "  --weight-decay L     L2 penalty for adam and sgd, decoupled decay for adamw (default 0; adamw 0.01)\n" +
        "  --epochs N           passes over the training data (default 100)\n" +
        "  --batch N            mini-batch size (default 16)\n" +
        "  --seed N             seed for the split, initial weights and shuffling (default 1)\n" +
        "  --test-split F       fraction held out for testing (default 0.2)\n" +
        "  --limit N            use only the first N training rows and the first N test rows (a quick check)\n" +
        "  --val-split F        fraction of the training rows held out (stratified) for validation (default 0;\n" +
        "                       0.1 with --patience): epoch lines and early stopping use it, not the test split\n" +
        "  --patience N         stop early after N epochs without validation improvement (default: off)\n" +
        ScheduleOption.Help + TrainCheckpoint.Help +
        "  --engine NAME        auto (default): the compiled step when the model allows it, else the autograd graph;\n" +
        "                       compiled: fail when it does not; graph: always the graph (the 'engine' line says which)\n" +
        "  --no-standardize     feed raw features (default: standardize with train-set statistics)\n" +
        "  --log-every N        print every N-th epoch (default: about 20 lines in all)\n" +
        "  --save FILE          where to save the model (default: <dataset>.safetensors)\n" + ReportOption.Help +
        "  --json               print one JSON object with the results (progress goes to stderr)\n";

    /// <summary>Tests: a condition after a batch that acts like the first Ctrl-C.</summary>
    internal Func<BatchProgress, bool>? InterruptWhen { get; init; }

    public int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var cl = new CommandLine(args,
            [.. DataOptions.ValueOptions, "model", "activation", "loss", "optimizer", "lr", "momentum", "weight-decay", "epochs", "batch",
             "seed", "test-split", "limit", "patience", "log-every", "save", "report", "val-split", "schedule", "warmup", "checkpoint", "engine"],
            ["json", "no-standardize", "resume"]);
        if (cl.Positionals.Count > 0) throw new UsageException($"unexpected argument '{cl.Positionals[0]}'.");
        TrainChecks.Options(cl);

        int seed = cl.Int("seed", 1);
        int epochs = cl.Int("epochs", 100, min: 1);
        int batch = cl.Int("batch", 16, min: 1);
        float lr = cl.Float("lr", 0.01f, min: float.Epsilon);
        float testSplit = cl.Float("test-split", 0.2f, min: 0f, maxExclusive: 1f);
        bool json = cl.Has("json");
        var log = json ? stderr : stdout;
        var checkpointDir = cl.String("checkpoint");
        if (cl.Has("resume"))
        {
            if (checkpointDir is null) throw new UsageException("--resume needs --checkpoint DIR (the folder of the run to continue).");
            TrainCheckpoint.CheckOptions(cl, checkpointDir);
        }
        var schedule = ScheduleOption.Parse(cl, epochs);
        var engine = cl.String("engine", "auto") switch
        {
            "auto" => TrainingEngine.Auto,
            "compiled" => TrainingEngine.Compiled,
            "graph" => TrainingEngine.Graph,
            var e => throw new UsageException($"--engine must be auto, compiled or graph but got '{e}'."),
        };

        var predefined = DataOptions.LoadPredefinedSplit(cl);
        var data = predefined?.Train ?? DataOptions.Load(cl, seed);
        var modelSpec = cl.String("model", "mlp:16");
        var hidden = ModelLanguage.IsMlpShorthand(modelSpec) ? Mlp.ParseHidden(modelSpec) : null;
        if (hidden is null && cl.Has("activation"))
            throw new UsageException("--activation goes with --model mlp:...; write the activations into the spec, e.g. dense(64)-relu-dense(10).");
        string activation = cl.String("activation", "tanh");
        var loss = Losses.ByName(cl.String("loss", data.IsClassification ? "cross_entropy" : "mse"));
        CheckLossFitsData(loss, data);
        TrainChecks.Data(data, cl.String("target"));

        var (train, test) = predefined is { } official ? official
            : testSplit > 0 ? data.Split(1 - testSplit, seed) : (data, null);
        if (cl.Has("limit"))
        {
            int limit = cl.Int("limit", 0, min: 1);
            train = train.Take(limit);
            test = test?.Take(limit);
        }
        var rawTest = test;
        if (cl.Has("report") && test is null) throw new UsageException("--report needs a test set; give --test-split above 0.");
        float valSplit = cl.Float("val-split", cl.Has("patience") ? 0.1f : 0f, min: 0f, maxExclusive: 1f);
        Dataset? val = null;
        if (valSplit > 0) (train, val) = train.Split(1 - valSplit, seed + 1);
        Standardizer? scaler = cl.Has("no-standardize") ? null : Standardizer.Fit(train.Features);
        if (scaler is not null)
        {
            train = scaler.Transform(train);
            if (test is not null) test = scaler.Transform(test);
            if (val is not null) val = scaler.Transform(val);
        }
        // Hashing 60,000 images takes a moment: once, for both the resume check and the checkpoint's metadata.
        var dataHash = checkpointDir is null ? null : TrainCheckpoint.Hash(train, val);
        if (cl.Has("resume")) TrainCheckpoint.CheckData(checkpointDir!, dataHash!);

        TrainChecks.Batch(cl, batch, train.Count, stderr);
        int outputs = OutputCount(loss, data);
        var model = hidden is not null
            ? Mlp.Create(data.NumFeatures, hidden, outputs, activation, loss.Name == "bce" ? "sigmoid" : null, new Rng(seed))
            : BuildFromSpec(modelSpec, data, cl.String("dataset") ?? data.Name, loss, outputs, seed);
        Optimizer optimizer = cl.String("optimizer", "adam") switch
        {
            "adam" => new Adam(model.Parameters(), lr, weightDecay: cl.Float("weight-decay", 0f, min: 0f)),
            "adamw" => new AdamW(model.Parameters(), lr, weightDecay: cl.Float("weight-decay", 0.01f, min: 0f)),
            "sgd" => new Sgd(model.Parameters(), lr, momentum: cl.Float("momentum", 0f, min: 0f, maxExclusive: 1f), weightDecay: cl.Float("weight-decay", 0f, min: 0f)),
            var o => throw new UsageException($"--optimizer must be adam, adamw or sgd but got '{o}'."),
        };

        TrainChecks.Warn(model, loss, optimizer, stderr);
        log.WriteLine($"data    {data}; train {train.Count}{(val is null ? "" : $" / validation {val.Count}")} / test {test?.Count ?? 0} rows{(scaler is null ? "" : ", standardized with train statistics")}");
        log.WriteLine($"model   {model}, {model.ParameterCount()} parameters");
        log.WriteLine($"train   {optimizer.Name} lr {F(lr)}{(schedule is null ? "" : $" {schedule}")}, {loss.Name}, batch {batch}, {epochs} epochs, seed {seed}");

        int logEvery = cl.Int("log-every", Math.Max(1, (int)Math.Ceiling(epochs / 20.0)), min: 1);
        EarlyStopping? early = cl.Has("patience") ? new EarlyStopping(cl.Int("patience", 10, min: 1)) : null;
        var bar = !json && ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected ? new ProgressBar(stdout) : null;
        using var ctrlC = new CtrlC(stderr);
        var history = TrainChecks.Fit(() => model.Fit(train, loss, optimizer, new FitOptions
        {
            Epochs = epochs, BatchSize = batch, Validation = val ?? test, ValidationIsTest = val is null, Seed = seed, EarlyStopping = early, Schedule = schedule,
            CheckpointDirectory = checkpointDir, Resume = cl.Has("resume"), Cancellation = ctrlC.Token,
            CheckpointMetadata = dataHash is null ? null : TrainCheckpoint.Metadata(cl, dataHash), Engine = engine,
            OnStart = h => log.WriteLine($"engine  {EngineLine(h, engine)}"),
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
        if (history.Cancelled)
        {
            bar?.Finish(null);
            if (history.CheckpointPath is null) log.WriteLine("interrupted; nothing saved (train with --checkpoint DIR to be able to resume)");
            else log.WriteLine($"interrupted; saved {history.CheckpointPath}. Continue with: backprop train {string.Join(' ', args.Where(a => a != "--resume"))} --resume");
            return 130;
        }
        if (history.StoppedEarly)
            log.WriteLine($"stopped early after epoch {history.Last.Epoch}; restored the weights of epoch {history.BestEpoch}");

        var evaluation = test is null ? null : model.Evaluate(test, loss);
        if (evaluation is not null)
            log.WriteLine($"test    loss {F(evaluation.Loss)}" + (evaluation.Accuracy is { } acc
                ? $"  accuracy {F(acc)} ({(int)Math.Round(acc * evaluation.Count)}/{evaluation.Count})" : ""));

        var savePath = cl.String("save", $"{SafeFileName(cl.String("dataset") ?? data.Name)}.safetensors");
        model.Save(savePath, new ModelInfo
        {
            FeatureNames = data.FeatureNames,
            ClassNames = data.ClassNames,
            InputMean = scaler?.Mean,
            InputStd = scaler?.Std,
            Loss = loss.Name,
            Dataset = cl.String("dataset") ?? data.Name,
            TargetName = cl.String("target"),
        });
        log.WriteLine($"saved   {savePath}");
        if (test is not null && evaluation is not null)
            ReportOption.WriteIfAsked(cl, log, "Training report", model, loss, rawTest!, test, evaluation, history,
                [new("dataset", data.ToString()), new("model", $"{model}, {model.ParameterCount()} parameters"),
                 new("training", $"{optimizer.Name} lr {F(lr)}, {loss.Name}, batch {batch}, {history.Epochs.Count} of {epochs} epochs, seed {seed}"),
                 new("features", scaler is null ? "raw" : "standardized with train statistics"), new("saved", savePath)]);

        if (json)
        {
            var result = new JsonObject
            {
                ["dataset"] = data.Name,
                ["model"] = model.ToString(),
                ["parameters"] = model.ParameterCount(),
                ["epochs"] = history.Epochs.Count,
                ["train_seconds"] = Math.Round(history.TotalSeconds, 4),
                ["train_loss"] = history.Last.Loss,
                ["train_accuracy"] = history.Last.Accuracy,
                ["test_loss"] = evaluation?.Loss,
                ["test_accuracy"] = evaluation?.Accuracy,
                ["test_rows"] = evaluation?.Count ?? 0,
                ["stopped_early"] = history.StoppedEarly,
                ["engine"] = history.Engine == TrainingEngine.Compiled ? "compiled" : "graph",
                ["engine_reason"] = history.EngineReason,
                ["saved"] = savePath,
            };
            stdout.WriteLine(Json.Write(result));
        }
        return 0;
    }

    /// <summary>The <c>engine</c> line: <c>compiled step</c>, or <c>autograd graph (why)</c>.</summary>
    internal static string EngineLine(History history, TrainingEngine asked) =>
        history.Engine == TrainingEngine.Compiled ? "compiled step"
        : asked == TrainingEngine.Graph ? "autograd graph (--engine graph)"
        : $"autograd graph ({history.EngineReason})";

    private static void CheckLossFitsData(ILoss loss, Dataset data)
    {
        if (!data.IsClassification && loss.Name is "cross_entropy" or "bce" or "bce_logits")
            throw new UsageException($"--loss {loss.Name} needs class labels, but the target of '{data.Name}' is numeric; use mse, or --task classify.");
        if (loss.Name is "bce" or "bce_logits" && data.NumClasses > 2)
            throw new UsageException($"--loss {loss.Name} is for two classes, but '{data.Name}' has {data.NumClasses}; use cross_entropy.");
    }

    /// <summary>A model-language spec built for the data's example shape, checked to end with the outputs the loss needs.</summary>
    private static Sequential BuildFromSpec(string spec, Dataset data, string dataName, ILoss loss, int outputs, int seed)
    {
        var model = ModelLanguage.Build(spec, data.SampleShape, new Rng(seed));
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
