using Xunit.Abstractions;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Text;

namespace Backprop.Tests.Text;

/// <summary>
/// A steady-state training step of the language models allocates nothing on any thread: the step's buffers, tensor
/// objects and graph nodes all come back from the step pool (<c>TensorArena</c>), and the ops record their backward
/// without closures.
/// </summary>
[Collection(nameof(Training.AllocationCounting))]
public sealed class TextStepAllocationTests(ITestOutputHelper output)
{
    private static readonly string Text = string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog. ", 60));

    // Bytes per step, on this thread and the workers, over 40 steps after 60 of warm-up (past tiered recompilation).
    private long BytesPerStep(string preset, int batch)
    {
        var spec = LanguageModelPreset.Parse(preset);
        var data = new TextDataset(Text, Tokenizer.CharLevel(Text), spec.Context());
        var model = spec.Build(data.Tokenizer.VocabSize, spec.Context(), new Rng(3));
        var optimizer = new AdamW(ParameterGroup.SplitDecay(model, 0.1f), 1e-3f, weightDecay: 0.1f);
        var loss = new CrossEntropyLoss();
        var rng = new Rng(5);
        using var session = TensorArena.Session();
        model.Train();
        for (int warm = 0; warm < 60; warm++) TextTrainer.Step(model, data, batch, rng, loss, optimizer, 1f);
        const int Steps = 120;
        float last = 0;
        long bytes = AllocationCount.Of(() =>
        {
            for (int s = 0; s < Steps; s++) last = TextTrainer.Step(model, data, batch, rng, loss, optimizer, 1f);
        });
        Assert.True(float.IsFinite(last) && last > 0, $"the loss after training was {last}");
        output.WriteLine($"{preset}: {bytes / Steps} bytes per step ({bytes} in {Steps})");
        return bytes / Steps;
    }

    [Theory]
    [InlineData("gpt:layers=2,heads=2,dim=16,context=8")]
    [InlineData("gpt:layers=2,heads=4,dim=32,context=16,dropout=0.1")]   // big enough for attention to split over the cores
    public void ASteadyStateGptStepAllocatesNothing(string preset) => Assert.Equal(0, BytesPerStep(preset, batch: 6));

    [Theory]
    [InlineData("lstm:layers=2,hidden=16,context=8")]
    [InlineData("lstm:layers=2,hidden=32,embed=24,context=12,dropout=0.1")]
    public void ASteadyStateLstmStepAllocatesNothing(string preset) => Assert.Equal(0, BytesPerStep(preset, batch: 4));
}
