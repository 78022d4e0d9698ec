using System.Globalization;
using Backprop.IO;
using Backprop.Text;

namespace Backprop.Cli;

/// <summary><c>backprop generate</c>: streams text sampled from a language model trained with <c>train --text</c>.</summary>
internal sealed class GenerateCommand : ICommand
{
    public string Name => "generate";
    public string Summary => "sample text from a language model (train --text), streamed as it is drawn";
    public string Usage =>
        "usage: backprop generate --model FILE [options]\n\n" +
        "  --model FILE         a model written by 'backprop train --text'\n" +
        "  --prompt TEXT        text to continue (default: start of a line)\n" +
        "  --tokens N           tokens to generate (default 500)\n" +
        "  --temperature T      divides the logits: lower is more conservative, 0 always takes the likeliest (default 0.8)\n" +
        "  --top-k K            sample only among the K likeliest tokens (default: all)\n" +
        "  --seed N             seed of the sampler; the same seed gives the same text (default 1)\n";

    public int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var cl = new CommandLine(args, ["model", "prompt", "tokens", "temperature", "top-k", "seed"], []);
        if (cl.Positionals.Count > 0) throw new UsageException($"unexpected argument '{cl.Positionals[0]}'.");
        var path = cl.String("model") ?? throw new UsageException("--model FILE is required (a model written by 'backprop train --text').");
        int tokens = cl.Int("tokens", 500, min: 0);
        float temperature = cl.Float("temperature", 0.8f, min: 0f);
        int? topK = cl.Has("top-k") ? cl.Int("top-k", 0, min: 1) : null;
        long seed = cl.Int("seed", 1);
        string prompt = cl.String("prompt", "");
        var (model, info) = ModelFile.Load(path);
        if (model is not LanguageModel lm || info.Tokenizer is not { } tokenizer)
            throw new UsageException($"'{path}' is not a language model (it holds {model}); generate takes a model written by 'backprop train --text'.");
        stdout.Write(prompt);
        TextGenerator.Generate(lm, tokenizer, prompt, tokens, temperature, topK, seed, piece =>
        {
            stdout.Write(piece);
            stdout.Flush();
        });
        stdout.WriteLine();
        return 0;
    }
}
