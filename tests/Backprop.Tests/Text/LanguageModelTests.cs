using Backprop.IO;
using Backprop.Nn;
using Backprop.Text;

namespace Backprop.Tests.Text;

/// <summary>
/// The GPT and the LSTM language model: the cached one-token-at-a-time forward of generation against the full forward,
/// model files, presets, and learning a small repetitive text.
/// </summary>
public sealed class LanguageModelTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-lm-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static readonly int[] Tokens = [3, 0, 6, 2, 2, 5, 1, 4, 0, 6, 3];

    // Logits [T, V] of the full forward on ids [1, T], in evaluation mode.
    private static float[] FullLogits(LanguageModel model, int[] ids)
    {
        using var inference = InferenceMode.Enter();
        return model.Forward(Tensor.FromArray([.. ids.Select(i => (float)i)], 1, ids.Length)).ToArray();
    }

    private static void AssertRow(float[] expected, int row, ReadOnlySpan<float> actual, int v)
    {
        for (int j = 0; j < v; j++) Assert.Equal(expected[row * v + j], actual[j], 1e-5f);
    }

    [Fact]
    public void GptCachedForwardEqualsTheFullForwardAtEveryPosition()
    {
        var gpt = new Gpt(7, layers: 2, heads: 2, dim: 8, context: 6, dropout: 0.1f, rng: new Rng(3));
        var full = FullLogits(gpt, Tokens[..6]);
        var state = gpt.NewState();
        for (int t = 0; t < 6; t++) AssertRow(full, t, state.Next(Tokens[t]), 7);
        // A full cache restarts from the last context/2 tokens: the next logits are the full forward's on those plus the new one.
        var after = FullLogits(gpt, [.. Tokens[3..6], Tokens[6]]);
        AssertRow(after, 3, state.Next(Tokens[6]), 7);
        Assert.Equal(4, state.Length);
    }

    [Fact]
    public void LstmCarriedStateEqualsTheFullForwardAtEveryPosition()
    {
        var lstm = new LstmLanguageModel(7, layers: 2, hidden: 6, embed: 5, context: 4, rng: new Rng(3));
        var full = FullLogits(lstm, Tokens);
        var state = lstm.NewState();
        for (int t = 0; t < Tokens.Length; t++) AssertRow(full, t, state.Next(Tokens[t]), 7);
    }

    [Fact]
    public void GptParametersHaveGpt2NamesAndTheBlocksAreCausal()
    {
        var gpt = new Gpt(5, layers: 1, heads: 2, dim: 4, context: 3, rng: new Rng(1));
        Assert.Equal(
            ["wte.weight", "wpe.weight", "h.0.ln_1.weight", "h.0.ln_1.bias", "h.0.attn.in_proj_weight", "h.0.attn.in_proj_bias",
             "h.0.attn.out_proj.weight", "h.0.attn.out_proj.bias", "h.0.ln_2.weight", "h.0.ln_2.bias", "h.0.mlp.c_fc.weight", "h.0.mlp.c_fc.bias",
             "h.0.mlp.c_proj.weight", "h.0.mlp.c_proj.bias", "ln_f.weight", "ln_f.bias", "lm_head.weight"],
            gpt.NamedParameters().Select(p => p.Name));
        // Position 0's logits do not depend on later tokens.
        var a = FullLogits(gpt, [1, 2, 3]);
        var b = FullLogits(gpt, [1, 4, 0]);
        Assert.Equal(a[..5], b[..5]);
        Assert.NotEqual(a[5..10], b[5..10]);
        var e = Assert.Throws<ShapeMismatchException>(() => gpt.Forward(Tensor.Zeros(1, 4)));
        Assert.Equal("GPT(vocab=5, layers=1, heads=2, dim=4, context=3) takes at most 3 tokens at once but got 4.", e.Message);
    }

    [Theory]
    [InlineData("gpt:layers=2,heads=2,dim=8,context=4")]
    [InlineData("lstm:layers=2,hidden=5,embed=3,context=4")]
    public void TheLossOverEveryPositionHasTheGradientOfFiniteDifferences(string spec)
    {
        var model = LanguageModelPreset.Parse(spec).Build(6, 4, new Rng(4));
        // nanoGPT's N(0, 0.02) start makes every logit nearly equal; larger weights give differences well above float noise.
        foreach (var p in model.Parameters())
        {
            var values = p.AsSpan();
            var rng = new Rng(p.Size);
            for (int i = 0; i < values.Length; i++) values[i] = 0.5f * rng.NextNormal();
        }
        var ids = Tensor.FromArray([0, 3, 5, 1, 2, 2, 4, 0], 2, 4);
        var next = Tensor.FromArray([3, 5, 1, 4, 2, 4, 0, 1], 8);
        var ce = new CrossEntropyLoss();
        var result = Backprop.Explain.GradCheck.Check(_ => ce.Compute(model.FlatLogits(ids), next), [.. model.Parameters()]);
        Assert.True(result.WorstRelativeError < 1e-2, result.ToString());
    }

    [Theory]
    [InlineData("gpt:layers=2,heads=2,dim=8,context=5")]
    [InlineData("lstm:layers=2,hidden=6,embed=3,context=5")]
    public void PresetsBuildTheModelAndModelFilesKeepIt(string spec)
    {
        var preset = LanguageModelPreset.Parse(spec);
        var model = preset.Build(9, preset.Context(), new Rng(2));
        Assert.Equal(spec, model is Gpt g ? g.Preset : ((LstmLanguageModel)model).Preset);
        var path = Path.Combine(dir, "lm.safetensors");
        model.Save(path);
        var (loaded, _) = ModelFile.Load(path);
        Assert.Equal(FullLogits(model, [1, 2, 3, 4, 5]), FullLogits((LanguageModel)loaded, [1, 2, 3, 4, 5]));
    }

    [Theory]
    [InlineData("gpt:layers=2,size=3", "gpt has no option 'size' (in 'gpt:layers=2,size=3'); its options are layers, heads, dim, context, dropout.")]
    [InlineData("lstm:hidden=0", "lstm option hidden must be a whole number ≥ 1 but is '0'.")]
    [InlineData("gpt:dropout=1.5", "gpt option dropout must be a fraction in [0, 1) but is '1.5'.")]
    [InlineData("gpt:layers", "gpt option 'layers' needs a value, e.g. layers=4 (in 'gpt:layers').")]
    [InlineData("gpt:layers=2,layers=3", "gpt option 'layers' is given twice (in 'gpt:layers=2,layers=3').")]
    public void BadPresetsAreNamed(string spec, string message) =>
        Assert.Equal(message, Assert.Throws<FormatException>(() => LanguageModelPreset.Parse(spec)).Message);

    [Theory]
    [InlineData("gpt:layers=1,heads=2,dim=16,context=16", 3e-3f)]
    [InlineData("lstm:layers=1,hidden=32,context=16", 1e-2f)]
    public void ATinyModelLearnsARepetitiveText(string spec, float lr)
    {
        string text = string.Concat(Enumerable.Repeat("the cat sat on the mat. ", 40));
        var tok = Tokenizer.CharLevel(text);
        var data = new TextDataset(text, tok, 16);
        var model = LanguageModelPreset.Parse(spec).Build(tok.VocabSize, 16, new Rng(1));
        double uniform = Math.Log(tok.VocabSize);
        double before = TextTrainer.Loss(model, data, validationPart: true);
        var result = TextTrainer.Train(model, data, new TextTrainingOptions { Steps = 150, Batch = 8, LearningRate = lr, EvalEvery = 0, EvalWindows = 32 });
        Assert.InRange(before, 0.8 * uniform, 1.2 * uniform);
        Assert.Equal(150, result.Steps);
        Assert.True(result.ValidationLoss < 0.25 * uniform, $"validation loss {result.ValidationLoss} vs uniform {uniform}");
        Assert.True(result.TrainLoss < 0.25 * uniform, $"train loss {result.TrainLoss} vs uniform {uniform}");
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    public void AGradientNormLimitThatIsNotPositiveIsRefusedBeforeTraining(float clip)
    {
        string text = string.Concat(Enumerable.Repeat("the cat sat on the mat. ", 10));
        var tok = Tokenizer.CharLevel(text);
        var data = new TextDataset(text, tok, 8);
        var model = LanguageModelPreset.Parse("gpt:layers=1,heads=1,dim=8,context=8").Build(tok.VocabSize, 8, new Rng(1));
        var before = model.Parameters().Select(p => p.ToArray()).ToList();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            TextTrainer.Train(model, data, new TextTrainingOptions { Steps = 3, Batch = 2, ClipGradNorm = clip, EvalEvery = 0 }));
        Assert.Contains("ClipGradNorm", e.Message);
        Assert.Equal(before, model.Parameters().Select(p => p.ToArray()).ToList());   // nothing was trained
    }
}
