using System.Text;
using Backprop.Text;

namespace Backprop.Cli;

/// <summary>
/// <c>backprop bench</c>'s language-model training throughput: a preset trained by <see cref="TextTrainer"/> with
/// <c>train --text</c>'s recipe (AdamW, clipping, warm-up and cosine, batch 12) on generated English-like text, so the
/// bench needs no package. Tokens per second of stepping only (the run's evaluation is not timed), after a warm-up
/// run of two steps on the same model. Bytes allocated per step, on all threads, are the difference between the timed
/// run and a shorter run (20 steps) divided by the steps between them, so that what every run allocates once (the
/// optimizer's state, the final evaluation) cancels.
/// </summary>
internal static class LanguageModelBench
{
    /// <summary>Tokens per second of training steps, and bytes allocated per steady-state step.</summary>
    public static (double TokensPerSecond, long AllocatedBytesPerStep) Measure(string preset, int steps)
    {
        var spec = LanguageModelPreset.Parse(preset);
        int context = spec.Context();
        string text = GeneratedText();
        var data = new TextDataset(text, Tokenizer.CharLevel(text), context);
        var model = spec.Build(data.Tokenizer.VocabSize, context, new Rng(1));
        var options = new TextTrainingOptions { Steps = 2, Batch = 12, EvalEvery = 0, EvalWindows = 4 };
        TextTrainer.Train(model, data, options);   // warm-up: JIT, the step pool's first fill
        // The shorter run is long enough for the step pool's housekeeping (it lets sizes idle for 16 steps go) to happen
        // in both runs, so their difference is only what the extra steps allocate.
        const int shortSteps = 20;
        Settle();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        TextTrainer.Train(model, data, options with { Steps = shortSteps });
        long shortRun = GC.GetTotalAllocatedBytes(precise: true) - before;
        steps = Math.Max(steps, 2 * shortSteps);   // 20 steps or more between the two, over which a few bytes of noise spread
        Settle();
        before = GC.GetTotalAllocatedBytes(precise: true);
        var result = TextTrainer.Train(model, data, options with { Steps = steps });
        long timedRun = GC.GetTotalAllocatedBytes(precise: true) - before;
        return (result.TokensPerSecond, Math.Max(0, (timedRun - shortRun) / (steps - shortSteps)));
    }

    // Both counted runs start from the same collected heap, so the collections inside them (and the runtime's few
    // bytes of bookkeeping for each) happen alike and cancel in the difference.
    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static readonly string[] Words =
    [
        "the", "a", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are", "as", "with",
        "his", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by", "word", "but", "not", "what", "all",
        "were", "we", "when", "your", "can", "said", "there", "use", "each", "which", "she", "do", "how", "their", "if",
        "will", "up", "other", "about", "out", "many", "then", "them", "these", "so", "some", "her", "would", "make",
        "like", "him", "into", "time", "has", "look", "two", "more", "write", "go", "see", "number", "no", "way", "could",
        "people", "my", "than", "first", "water", "been", "call", "who", "oil", "its", "now", "find", "long", "down",
    ];

    /// <summary>About 100,000 characters of sentences of common words, the same every time.</summary>
    internal static string GeneratedText()
    {
        var rng = new Rng(2026);
        var text = new StringBuilder();
        while (text.Length < 100_000)
        {
            int n = 4 + rng.NextInt(10);
            for (int i = 0; i < n; i++)
            {
                var word = Words[rng.NextInt(Words.Length)];
                text.Append(i == 0 ? char.ToUpperInvariant(word[0]) + word[1..] : word).Append(i + 1 < n ? ' ' : '.');
            }
            text.Append(rng.NextInt(4) == 0 ? '\n' : ' ');
        }
        return text.ToString();
    }
}
