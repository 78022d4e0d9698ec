using Backprop.Nn;
using Backprop.Text;

namespace Backprop.Tests.Text;

/// <summary>
/// Token-by-token decoding of <see cref="Gpt"/> (its key/value cache and graph-free inference path): the logits of the
/// full forward at every position, through the refills of a full cache, and no allocation per token.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class GptDecodingTests
{
    // Wide enough that the GEMV runs its blocks of eight vectors at every width (3·32 = 96 and 4·32 = 128 columns).
    // nanoGPT's initialisation leaves biases at 0 and norms at 1: every vector gets noise, so each one counts.
    private static Gpt Model()
    {
        var gpt = new Gpt(30, layers: 2, heads: 4, dim: 32, context: 12, rng: new Rng(21));
        var rng = new Rng(22);
        foreach (var p in gpt.Parameters().Where(p => p.Rank == 1))
        {
            var s = p.AsSpan();
            for (int i = 0; i < s.Length; i++) s[i] += 0.3f * rng.NextNormal();
        }
        return gpt;
    }

    private static int[] Sequence(int n)
    {
        var rng = new Rng(4);
        return [.. Enumerable.Range(0, n).Select(_ => (int)(rng.NextUInt() % 30))];
    }

    [Fact]
    public void LogitsEqualTheFullForwardOfTheCachedWindowAtEveryPosition()
    {
        var gpt = Model();
        var tokens = Sequence(40);   // three refills of the 12-token cache
        var state = gpt.NewState();
        for (int t = 0; t < tokens.Length; t++)
        {
            var logits = state.Next(tokens[t]).ToArray();
            // The cache holds the last Length tokens, at positions 0 … Length − 1.
            var window = tokens[(t + 1 - state.Length)..(t + 1)];
            float[] full;
            using (InferenceMode.Enter())
                full = gpt.Forward(Tensor.FromArray([.. window.Select(i => (float)i)], 1, window.Length)).ToArray();
            var last = full.AsSpan((window.Length - 1) * 30, 30);
            for (int j = 0; j < 30; j++) Assert.Equal(last[j], logits[j], 1e-5f);
        }
    }

    [Fact]
    public void ASteadyStateTokenAllocatesNothing()
    {
        var gpt = Model();
        var tokens = Sequence(60);
        var state = gpt.NewState();
        var probs = new float[30];
        var sorted = new float[30];
        var rng = new Rng(1);
        // Warm-up, measured too so that one-time initialisation (the counter's own included) falls here: past a refill,
        // every path has run once.
        AllocationCount.Of(() =>
        {
            for (int t = 0; t < 24; t++) TextGenerator.Sample(state.Next(tokens[t]), 0.8f, 5, probs, sorted, rng);
        });
        long bytes = AllocationCount.Of(() =>
        {
            for (int t = 24; t < 60; t++)
                TextGenerator.Sample(state.Next(tokens[t]), 0.8f, 5, probs, sorted, rng);
        });
        Assert.Equal(0, bytes);
    }

    [Fact]
    public void TheSameSeedGivesTheTextItGaveBeforeTheInferencePath()
    {
        // Recorded with the cache as it was before decoding had its own inference path (commit e16ebeb, tensors and
        // the linear op per token): the new path's sums run in another order, but not one sampled id moved.
        var tok = Tokenizer.CharLevel("abcdefghijklmnopqrstuvwxyz .,\n");
        var text = TextGenerator.Generate(Model(), tok, "the ", 50, temperature: 1f, topK: 10, seed: 3);
        Assert.Equal(Recorded, text);
    }

    private const string Recorded = "ejjzxoadowdzjozdawaoxhezwah\nwhha,owwo\nwdj,jz\n,hzd,";
}
