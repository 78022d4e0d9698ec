using System.Text.Json;

namespace Backprop.Tests.Cli;

/// <summary><c>train --text</c> and <c>generate</c> as a user runs them: results, reproducible samples, and the messages for wrong input.</summary>
public sealed class TextCliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-textcli-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private string Write(string name, string text)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private const string Tiny = "gpt:layers=1,heads=1,dim=16,context=16";

    [Fact]
    public void TrainTextReportsNatsPerCharAndGenerateRepeatsWithASeed()
    {
        var text = Write("rhyme.txt", string.Concat(Enumerable.Repeat("the cat sat on the mat. ", 30)));
        var model = Path.Combine(dir, "rhyme.safetensors");
        var (code, stdout, stderr) = Run("train", "--text", text, "--model", Tiny, "--steps", "40", "--eval-every", "20", "--sample-tokens", "10",
            "--lr", "0.003", "--save", model, "--json");
        Assert.True(code == 0, stderr);
        var result = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(40, result.GetProperty("steps").GetInt32());
        double val = result.GetProperty("val_loss").GetDouble();
        Assert.InRange(val, 0.01, Math.Log(11) * 0.9);   // 11 distinct characters: below uniform after 40 steps
        Assert.Equal(Math.Exp(val), result.GetProperty("val_perplexity").GetDouble(), 1e-9);
        Assert.True(result.GetProperty("train_loss").GetDouble() > 0);
        Assert.True(result.GetProperty("tokens_per_s").GetDouble() > 0);
        Assert.True(result.GetProperty("train_seconds").GetDouble() > 0);
        Assert.Contains("step     20/40  loss ", stderr);
        Assert.Contains(" nats/char  val_ppl ", stderr);
        Assert.Contains("sample  ", stderr);

        var first = Run("generate", "--model", model, "--prompt", "the ", "--tokens", "30", "--seed", "4");
        var again = Run("generate", "--model", model, "--prompt", "the ", "--tokens", "30", "--seed", "4");
        Assert.Equal(0, first.Code);
        Assert.Equal(first.Out, again.Out);
        Assert.StartsWith("the ", first.Out);
        Assert.Equal(4 + 30 + Environment.NewLine.Length, first.Out.Length);
    }

    [Fact]
    public void ACheckpointedRunResumesToTheSameResultAndRefusesOtherOptions()
    {
        var text = Write("rhyme.txt", string.Concat(Enumerable.Repeat("the cat sat on the mat. ", 30)));
        var ckpt = Path.Combine(dir, "ckpt");
        string[] run = ["train", "--text", text, "--model", Tiny, "--steps", "20", "--eval-every", "10", "--sample-tokens", "0",
            "--checkpoint", ckpt, "--save", Path.Combine(dir, "r.safetensors"), "--json"];
        var (code, stdout, stderr) = Run(run);
        Assert.True(code == 0, stderr);
        double val = JsonDocument.Parse(stdout).RootElement.GetProperty("val_loss").GetDouble();

        (code, _, stderr) = Run(run);
        Assert.Equal(2, code);   // refused: nothing was wrong with the input, but it would overwrite a run
        Assert.Contains($"--checkpoint '{ckpt}' already holds a run", stderr);
        (code, _, stderr) = Run([.. run, "--resume", "--lr", "0.01"]);
        Assert.Equal(1, code);
        Assert.Contains("with other options: --lr '0.001' in the checkpoint but '0.01' now.", stderr);
        (code, stdout, stderr) = Run([.. run, "--resume"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("20 of 20 steps done", stderr);
        Assert.Equal(val, JsonDocument.Parse(stdout).RootElement.GetProperty("val_loss").GetDouble());
    }

    [Fact]
    public void AMissingFileIsNamedAndTheFortunesPathSaysHowToInstallIt()
    {
        var missing = Path.Combine(dir, "nothing.txt");
        var (code, _, stderr) = Run("train", "--text", missing, "--steps", "1");
        Assert.Equal(1, code);
        Assert.Equal($"backprop train: error: no text file or folder at '{missing}'.\n", stderr.ReplaceLineEndings("\n"));
        (code, _, stderr) = Run("train", "--text", "/usr/share/games/fortunes/no-such-fortune-file", "--steps", "1");
        Assert.Equal(1, code);
        Assert.Contains("install it with 'apt-get install -y fortunes'", stderr);
    }

    [Fact]
    public void EmptyTextAndAContextLargerThanTheTextAreRefused()
    {
        var empty = Write("empty.txt", "");
        var (code, _, stderr) = Run("train", "--text", empty, "--steps", "1");
        Assert.Equal(1, code);
        Assert.Equal($"backprop train: error: the text file '{empty}' is empty; give a file with some text in it.\n", stderr.ReplaceLineEndings("\n"));
        var shortText = Write("short.txt", "just a few words here, forty characters.");
        (code, _, stderr) = Run("train", "--text", shortText, "--context", "8", "--steps", "1", "--save", Path.Combine(dir, "s.safetensors"));
        Assert.Equal(1, code);
        Assert.Equal("backprop train: error: the text has 40 tokens, split 36 for training and 4 for validation, but a context of 8 needs at least 9 in each; use a shorter --context or more text.\n",
            stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void BadModelSpecsAndOptionsAreUsageErrors()
    {
        var text = Write("t.txt", "abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc");
        var (code, _, stderr) = Run("train", "--text", text, "--model", "gpt:layers=2,width=64");
        Assert.Equal(2, code);
        Assert.StartsWith("backprop train: --model: gpt has no option 'width' (in 'gpt:layers=2,width=64'); its options are layers, heads, dim, context, dropout.\n",
            stderr.ReplaceLineEndings("\n"));
        (code, _, stderr) = Run("train", "--text", text, "--model", "dense(10)");
        Assert.Equal(2, code);
        Assert.StartsWith("backprop train: --model with --text must be a language-model preset", stderr);
        (code, _, stderr) = Run("train", "--text", text, "--model", "gpt:context=8", "--context", "4");
        Assert.Equal(2, code);
        Assert.StartsWith("backprop train: --context 4 disagrees with context=8 in --model 'gpt:context=8'; give one of them.", stderr);
        (code, _, stderr) = Run("train", "--text", text, "--epochs", "3");
        Assert.Equal(2, code);
        Assert.StartsWith("backprop train: unknown option '--epochs'.", stderr);
    }

    [Fact]
    public void GenerateRefusesAModelThatIsNotALanguageModelAndAPromptOutsideTheVocabulary()
    {
        var iris = Path.Combine(dir, "iris.safetensors");
        Assert.Equal(0, Run("train", "--epochs", "1", "--save", iris).Code);
        var (code, _, stderr) = Run("generate", "--model", iris, "--prompt", "hi");
        Assert.Equal(2, code);
        Assert.StartsWith($"backprop generate: '{iris}' is not a language model", stderr);

        var text = Write("abc.txt", string.Concat(Enumerable.Repeat("abc ", 20)));
        var model = Path.Combine(dir, "abc.safetensors");
        Assert.Equal(0, Run("train", "--text", text, "--model", "gpt:layers=1,heads=1,dim=8,context=4", "--steps", "2", "--save", model).Code);
        (code, _, stderr) = Run("generate", "--model", model, "--prompt", "abz");
        Assert.Equal(1, code);
        Assert.Equal("backprop generate: error: the text has 'z' at position 2, which is not among the model's 4 characters.\n", stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void SummaryShowsThePresetsPartByPart()
    {
        var (code, stdout, stderr) = Run("summary", "--model", "gpt:layers=4,heads=4,dim=128,context=64", "--vocab", "65");
        Assert.True(code == 0, stderr);
        Assert.StartsWith("model  gpt:layers=4,heads=4,dim=128,context=64, vocabulary 65\ninput  token ids [N, 64]\n", stdout.ReplaceLineEndings("\n"));
        // nanoGPT's character model: 4 blocks of 12·128² + 13·128 values, embeddings 65·128 + 64·128, ln_f, an untied head 65·128.
        Assert.Contains(" h.3      Block(dim=128, heads=4)     [N, 64, 128]  198,272", stdout);
        Assert.Contains("818,176 parameters;", stdout);
        (code, stdout, _) = Run("summary", "--model", "lstm:layers=2,hidden=256", "--vocab", "65");
        Assert.Equal(0, code);
        // PyTorch's nn.LSTM(256, 256, 2): 2·(4·256·(256 + 256) + 2·4·256) values.
        Assert.Contains("LSTM(256→256, layers=2)  [N, 64, 256]  1,052,672", stdout);
        (code, _, var err) = Run("summary", "--model", "lstm:layers=2,size=4");
        Assert.Equal(2, code);
        Assert.StartsWith("backprop summary: --model: lstm has no option 'size' (in 'lstm:layers=2,size=4'); its options are layers, hidden, embed, context, dropout.", err);
    }
}
