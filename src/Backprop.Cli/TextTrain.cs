using System.Globalization;
using System.Text.Json.Nodes;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Text;
using Backprop.Training;

namespace Backprop.Cli;

/// <summary>
/// <c>backprop train --text FILE|DIR</c>: trains a character- or byte-level language model (a GPT or an LSTM preset)
/// by steps on (context, next-token) windows, reports nats per character and perplexity, prints samples, saves the
/// model with its tokenizer.
/// </summary>
internal static class TextTrain
{
    public const string Help =
        "  --text FILE|DIR      train a language model on text instead (a file, or a folder's files), e.g.\n" +
        "                       /usr/share/games/fortunes; with --model gpt:layers=4,heads=4,dim=128,context=64 (default)\n" +
        "                       or lstm:layers=2,hidden=256, --steps N (default 2000), --context N, --tokenizer char|byte,\n" +
        "                       --batch (12), --lr (0.001), --warmup N, --weight-decay (0.1), --clip-grad-norm (1),\n" +
        "                       --eval-every N (250), --sample-tokens N (200), --seed, --save, --json;\n" +
        "                       --checkpoint DIR (written at every --eval-every and on Ctrl-C), --resume, --overwrite\n";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var cl = new CommandLine(args,
            ["text", "model", "steps", "context", "tokenizer", "batch", "lr", "warmup", "weight-decay", "clip-grad-norm", "eval-every",
             "sample-tokens", "seed", "save", "val-split", "checkpoint"],
            ["json", "resume", "overwrite"]);
        if (cl.Positionals.Count > 0) throw new UsageException($"unexpected argument '{cl.Positionals[0]}'.");
        bool json = cl.Has("json");
        var log = json ? stderr : stdout;
        string path = cl.String("text")!;
        int seed = cl.Int("seed", 1);
        int steps = cl.Int("steps", 2000, min: 1);
        int batch = cl.Int("batch", 12, min: 1);
        float lr = cl.Float("lr", 1e-3f, min: float.Epsilon);
        float valSplit = cl.Float("val-split", 0.1f, min: float.Epsilon, maxExclusive: 1f);
        int evalEvery = cl.Int("eval-every", 250, min: 0);
        int sampleTokens = cl.Int("sample-tokens", 200, min: 0);
        var spec = cl.String("model", "gpt");
        if (!LanguageModelPreset.IsPreset(spec))
            throw new UsageException($"--model with --text must be a language-model preset, gpt:layers=4,heads=4,dim=128,context=64 or lstm:layers=2,hidden=256, but got '{spec}'.");
        LanguageModelPreset preset;
        try { preset = LanguageModelPreset.Parse(spec); }
        catch (FormatException e) { throw new UsageException($"--model: {e.Message}"); }
        int? contextOption = cl.Has("context") ? cl.Int("context", 64, min: 1) : null;
        if (contextOption is { } c && preset.HasContext && preset.Context() != c)
            throw new UsageException($"--context {c} disagrees with context={preset.Context()} in --model '{spec}'; give one of them.");
        int context = preset.Context(contextOption);
        string savePath = cl.String("save", $"{SafeName(path)}.safetensors");
        OutputPaths.CheckFile("--save", savePath);
        var checkpointDir = cl.String("checkpoint");
        bool resume = cl.Has("resume");
        if (resume && checkpointDir is null) throw new UsageException("--resume needs --checkpoint DIR (the folder of the run to continue).");
        TrainOutputs.CheckBeforeData(cl);
        // A resumed run tokenizes with the checkpoint's tokenizer, so its ids mean what they meant to the model.
        var resumed = resume ? TextCheckpoint.ReadPosition(checkpointDir!) : default((Tokenizer Tokenizer, int Step)?);

        string text = TextCorpus.Read(path);
        var tokenizer = cl.String("tokenizer", "char") switch
        {
            "char" or "byte" when resumed is { } r => r.Tokenizer,
            "char" => Tokenizer.CharLevel(text),
            "byte" => Tokenizer.ByteLevel,
            var t => throw new UsageException($"--tokenizer must be char or byte but got '{t}'."),
        };
        TextDataset data;
        try { data = new TextDataset(text, tokenizer, context, 1 - valSplit); }
        catch (ArgumentException e) when (resumed is not null)
        {
            throw new RefusedException($"cannot resume the checkpoint in '{checkpointDir}': the text does not fit the tokenizer it was trained with ({e.Message})");
        }
        var dataHash = checkpointDir is null ? null : TrainCheckpoint.Hash(data.TrainTokens, data.ValidationTokens);
        var model = preset.Build(tokenizer.VocabSize, context, new Rng(seed));
        var options = new TextTrainingOptions
        {
            Steps = steps, Batch = batch, LearningRate = lr, Seed = seed, EvalEvery = evalEvery,
            Warmup = cl.Has("warmup") ? cl.Int("warmup", 0, min: 0) : null,
            WeightDecay = cl.Float("weight-decay", 0.1f, min: 0f),
            ClipGradNorm = cl.Float("clip-grad-norm", 1f, min: 0f) is var clip && clip > 0f ? clip : null,
            CheckpointDirectory = checkpointDir, Resume = resume,
            CheckpointMetadata = checkpointDir is null ? null : TrainCheckpoint.Metadata(cl, dataHash!),
        };
        // Every option is read by now, so the comparison sees the values this run uses.
        if (resume) TrainCheckpoint.CheckResume(cl, checkpointDir!, dataHash!, TextCheckpoint.ReadMetadata(checkpointDir!));

        log.WriteLine($"data    {path}: {text.Length:N0} characters, tokenizer {tokenizer}; train {data.TrainTokens.Length:N0} / validation {data.ValidationTokens.Length:N0} tokens (split by position), windows of {context}");
        log.WriteLine($"model   {model}, {model.ParameterCount():N0} parameters");
        log.WriteLine($"train   adamw lr {F(lr)} (warm-up {options.WarmupSteps} steps, cosine to {F(lr / 10)}), weight decay {F(options.WeightDecay)} (none on biases and norms), " +
            $"clip-grad-norm {(options.ClipGradNorm is { } g ? F(g) : "off")}, batch {batch}, {steps} steps, seed {seed}");
        if (resumed is { Step: var done }) log.WriteLine($"resume  {Checkpoint.PathIn(checkpointDir!)}: {done} of {steps} steps done");
        using var ctrlC = new CtrlC(stderr);
        var result = TextTrainer.Train(model, data, options, p =>
        {
            log.WriteLine($"step {p.Step,6}/{steps}  loss {F(p.TrainLoss)}  val_loss {F(p.ValidationLoss)} nats/char  val_ppl {F(Math.Exp(p.ValidationLoss))}  lr {p.LearningRate.ToString("0.######", CultureInfo.InvariantCulture)}  {p.TokensPerSecond:F0} tokens/s");
            if (sampleTokens > 0 && p.Step < steps)
                log.WriteLine("sample  " + Indent(TextGenerator.Generate(model, tokenizer, "", Math.Min(sampleTokens, 80), 0.8f, null, seed)));
        }, () => ctrlC.Token.IsCancellationRequested);

        if (ctrlC.Token.IsCancellationRequested && result.CheckpointPath is { } saved)
            log.WriteLine($"interrupted at step {result.Steps}; saved {saved}. Continue with: backprop train {string.Join(' ', args.Where(a => a is not ("--resume" or "--overwrite")))} --resume");
        log.WriteLine($"result  val_loss {F(result.ValidationLoss)} nats/char (perplexity {F(Math.Exp(result.ValidationLoss))}), train_loss {F(result.TrainLoss)}, " +
            $"{result.Steps} steps in {result.TrainSeconds:F1} s, {result.TokensPerSecond:F0} tokens/s");
        if (sampleTokens > 0) log.WriteLine("sample  " + Indent(TextGenerator.Generate(model, tokenizer, "", sampleTokens, 0.8f, null, seed)));
        model.Save(savePath, new ModelInfo { Tokenizer = tokenizer, Loss = "cross_entropy", Dataset = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path))) });
        log.WriteLine($"saved   {savePath}  (backprop generate --model {savePath} --prompt \"...\")");
        if (json)
            stdout.WriteLine(Json.Write(new JsonObject
            {
                ["val_loss"] = result.ValidationLoss, ["val_perplexity"] = Math.Exp(result.ValidationLoss), ["train_loss"] = result.TrainLoss,
                ["steps"] = result.Steps, ["tokens_per_s"] = result.TokensPerSecond, ["train_seconds"] = result.TrainSeconds,
                ["vocab"] = tokenizer.VocabSize, ["tokenizer"] = tokenizer.Kind, ["context"] = context, ["parameters"] = model.ParameterCount(),
                ["model"] = model is Gpt gpt ? gpt.Preset : ((LstmLanguageModel)model).Preset, ["saved"] = savePath,
                ["interrupted"] = ctrlC.Token.IsCancellationRequested,
            }));
        return ctrlC.Token.IsCancellationRequested ? ctrlC.ExitCode : 0;
    }

    private static string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);

    private static string Indent(string sample) => sample.Replace("\n", "\n        ", StringComparison.Ordinal);

    private static string SafeName(string path)
    {
        var name = Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(path));
        return string.IsNullOrEmpty(name) ? "text" : name;
    }
}
