using Backprop.Nn;
using Backprop.Text;

namespace Backprop.Tests.Text;

/// <summary>
/// Token-by-token decoding of <see cref="LstmLanguageModel"/> (its (h, c) per layer on a graph-free inference path):
/// the logits of the full forward over the whole prefix at every position, and no allocation per token.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class LstmDecodingTests
{
    // Two layers, embedding 20 ≠ hidden 24, so that each layer's input width and W_ih are its own.
    private static LstmLanguageModel Model() => new(17, layers: 2, hidden: 24, embed: 20, context: 16, rng: new Rng(31));

    private static int[] Sequence(int n)
    {
        var rng = new Rng(5);
        return [.. Enumerable.Range(0, n).Select(_ => (int)(rng.NextUInt() % 17))];
    }

    [Fact]
    public void LogitsEqualTheFullForwardOfThePrefixAtEveryPosition()
    {
        var lstm = Model();
        var tokens = Sequence(30);
        float[] full;
        using (InferenceMode.Enter())
            full = lstm.Forward(Tensor.FromArray([.. tokens.Select(i => (float)i)], 1, tokens.Length)).ToArray();
        var state = lstm.NewState();
        for (int t = 0; t < tokens.Length; t++)
        {
            var logits = state.Next(tokens[t]).ToArray();
            Assert.Equal(t + 1, state.Length);
            for (int j = 0; j < 17; j++) Assert.Equal(full[t * 17 + j], logits[j], 1e-5f);
        }
    }

    [Fact]
    public void ASteadyStateTokenAllocatesNothing()
    {
        var lstm = Model();
        var tokens = Sequence(40);
        var state = lstm.NewState();
        var probs = new float[17];
        var sorted = new float[17];
        var rng = new Rng(1);
        AllocationCount.Of(() =>
        {
            for (int t = 0; t < 10; t++) TextGenerator.Sample(state.Next(tokens[t]), 0.8f, 5, probs, sorted, rng);
        });
        long bytes = AllocationCount.Of(() =>
        {
            for (int t = 10; t < 40; t++) TextGenerator.Sample(state.Next(tokens[t]), 0.8f, 5, probs, sorted, rng);
        });
        Assert.Equal(0, bytes);
    }

    [Fact]
    public void ATokenOutsideTheVocabularyIsRefusedByName()
    {
        var state = Model().NewState();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => state.Next(17));
        Assert.Contains("token 17 is outside the vocabulary [0, 17)", e.Message);
    }
}
