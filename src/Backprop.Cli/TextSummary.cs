using Backprop.IO;
using Backprop.Text;

namespace Backprop.Cli;

/// <summary><c>backprop summary</c> for the language-model presets and for saved language models.</summary>
internal static class TextSummary
{
    /// <summary>Writes the summary and returns true when <paramref name="spec"/> is a preset or a saved language model.</summary>
    public static bool TryWrite(CommandLine cl, string spec, TextWriter stdout)
    {
        LanguageModel model;
        if (LanguageModelPreset.IsPreset(spec))
        {
            LanguageModelPreset preset;
            try { preset = LanguageModelPreset.Parse(spec); }
            catch (FormatException e) { throw new UsageException($"--model: {e.Message}"); }
            model = preset.Build(cl.Int("vocab", 256, min: 1), preset.Context(), new Rng(0));
        }
        else if (File.Exists(spec) && ModelFile.Load(spec).Model is LanguageModel saved) model = saved;
        else
        {
            if (cl.Has("vocab")) throw new UsageException("--vocab goes with a language-model preset, --model gpt:... or lstm:....");
            return false;
        }
        stdout.Write(LanguageModelSummary.Of(model));
        return true;
    }
}
