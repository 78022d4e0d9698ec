using Backprop.Nn;
using Backprop.Text;

namespace Backprop.Tests.Text;

/// <summary>Sampling: seeded, greedy at temperature 0 (checked against full forwards), top-k, streamed pieces, prompts.</summary>
public sealed class GenerateTests
{
    private static readonly Tokenizer Tok = Tokenizer.CharLevel("abcdefgh \n");

    private static Gpt Model() => new(Tok.VocabSize, layers: 1, heads: 2, dim: 8, context: 8, rng: new Rng(5));

    [Fact]
    public void TheSameSeedGivesTheSameTextAndAnotherSeedAnother()
    {
        var gpt = Model();
        var a = TextGenerator.Generate(gpt, Tok, "ab", 40, temperature: 1f, seed: 7);
        var b = TextGenerator.Generate(gpt, Tok, "ab", 40, temperature: 1f, seed: 7);
        var c = TextGenerator.Generate(gpt, Tok, "ab", 40, temperature: 1f, seed: 8);
        Assert.Equal(40, a.Length);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void TemperatureZeroIsTheArgmaxOfTheFullForwardEachStep()
    {
        var gpt = Model();
        var text = TextGenerator.Generate(gpt, Tok, "abc", 5, temperature: 0f);
        var ids = Tok.Encode("abc").ToList();
        using (InferenceMode.Enter())
            for (int n = 0; n < 5; n++)
            {
                var logits = gpt.Forward(Tensor.FromArray([.. ids.Select(i => (float)i)], 1, ids.Count)).ToArray();
                var last = logits.AsSpan((ids.Count - 1) * Tok.VocabSize, Tok.VocabSize);
                ids.Add(System.Numerics.Tensors.TensorPrimitives.IndexOfMax(last));
            }
        Assert.Equal(Tok.Decode(ids.Skip(3).ToArray()), text);
        Assert.Equal(text, TextGenerator.Generate(gpt, Tok, "abc", 5, temperature: 1f, topK: 1, seed: 3));
    }

    [Fact]
    public void PiecesStreamAsTheyAreDrawnAndAnUnknownPromptCharacterIsNamed()
    {
        var pieces = new List<string>();
        var text = TextGenerator.Generate(Model(), Tok, "", 12, seed: 2, onText: pieces.Add);
        Assert.Equal(12, pieces.Count);
        Assert.Equal(text, string.Concat(pieces));
        var e = Assert.Throws<ArgumentException>(() => TextGenerator.Generate(Model(), Tok, "abz", 3));
        Assert.Equal("the text has 'z' at position 2, which is not among the model's 10 characters.", e.Message);
    }

    [Fact]
    public void SamplingFollowsTheSoftmaxOverTheTopK()
    {
        // logits ln(1), ln(2), ln(3), ln(4): top-2 keeps ids 2 and 3 with probabilities 3/7 and 4/7.
        float[] logits = [0f, MathF.Log(2), MathF.Log(3), MathF.Log(4)];
        var rng = new Rng(11);
        var probs = new float[4];
        var counts = new int[4];
        for (int i = 0; i < 7000; i++) counts[TextGenerator.Sample(logits, 1f, 2, probs, new float[4], rng)]++;
        Assert.Equal(0, counts[0] + counts[1]);
        Assert.InRange(counts[2], 3000 - 200, 3000 + 200);
    }
}
