using Backprop.Text;

namespace Backprop.Tests.Text;

/// <summary>
/// Checkpoints of text training: a run stopped part-way and resumed ends bit-identical to one never stopped (weights,
/// AdamW's moments and step, the schedule, the window sampler and dropout), for the GPT and the LSTM; the tokenizer
/// and position are read back; another run's checkpoint is refused.
/// </summary>
public sealed class TextCheckpointTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-textckpt-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static readonly string Text = string.Concat(Enumerable.Repeat("a stitch in time saves nine. ", 12));

    private static TextDataset Data() => new(Text, Tokenizer.CharLevel(Text), 8);

    // Dropout on, so the generators that draw its masks must be restored as well.
    private static LanguageModel Build(string kind) => kind == "gpt"
        ? new Gpt(Data().Tokenizer.VocabSize, layers: 1, heads: 2, dim: 8, context: 8, dropout: 0.1f, rng: new Rng(9))
        : new LstmLanguageModel(Data().Tokenizer.VocabSize, layers: 2, hidden: 8, embed: 6, context: 8, dropout: 0.1f, rng: new Rng(9));

    private static TextTrainingOptions Options(string? checkpoint = null, bool resume = false) => new()
    {
        Steps = 14, Batch = 3, LearningRate = 3e-3f, EvalEvery = 5, EvalWindows = 8, Warmup = 3, Seed = 5,
        CheckpointDirectory = checkpoint, Resume = resume,
    };

    [Theory]
    [InlineData("gpt")]
    [InlineData("lstm")]
    public void AStoppedAndResumedRunEqualsOneNeverStopped(string kind)
    {
        var whole = Build(kind);
        var expected = TextTrainer.Train(whole, Data(), Options());

        var ckpt = Path.Combine(dir, kind);
        int calls = 0;
        var first = TextTrainer.Train(Build(kind), Data(), Options(ckpt), stop: () => ++calls > 7);   // stops after 7 steps
        Assert.Equal(7, first.Steps);
        Assert.Equal(7, TextCheckpoint.ReadPosition(ckpt).Step);

        var resumed = Build(kind);   // fresh weights: everything must come from the checkpoint
        var result = TextTrainer.Train(resumed, Data(), Options(ckpt, resume: true));
        Assert.Equal(14, result.Steps);
        Assert.Equal(expected.ValidationLoss, result.ValidationLoss);
        Assert.Equal(expected.TrainLoss, result.TrainLoss);
        var a = whole.NamedParameters().ToList();
        var b = resumed.NamedParameters().ToList();
        for (int i = 0; i < a.Count; i++) Assert.True(a[i].Item2.ToArray().SequenceEqual(b[i].Item2.ToArray()), $"{a[i].Item1} differs");
    }

    [Fact]
    public void TheTokenizerAndMetadataAreReadBackAndAnotherRunIsRefused()
    {
        var ckpt = Path.Combine(dir, "run");
        TextTrainer.Train(Build("gpt"), Data(), Options(ckpt) with { Steps = 5, CheckpointMetadata = new Dictionary<string, string> { ["who"] = "test" } });
        var (tokenizer, step) = TextCheckpoint.ReadPosition(ckpt);
        Assert.Equal(5, step);
        Assert.Equal(Data().Tokenizer.Vocabulary, tokenizer.Vocabulary);
        Assert.Equal("test", TextCheckpoint.ReadMetadata(ckpt)["who"]);
        Assert.True(TextCheckpoint.Holds(ckpt));

        var e = Assert.Throws<InvalidOperationException>(() => TextTrainer.Train(Build("gpt"), Data(), Options(ckpt, resume: true) with { Batch = 4 }));
        Assert.Contains("is of a run of 5 steps of batch 3", e.Message);
        e = Assert.Throws<InvalidOperationException>(() => TextTrainer.Train(Build("lstm"), Data(), Options(ckpt, resume: true) with { Steps = 5 }));
        Assert.Contains("it holds another model", e.Message);
    }
}
