using Backprop.Data;
using Backprop.Text;

namespace Backprop.Tests.Text;

/// <summary>Windows of next tokens, the split by position, the seeded sampler, and reading files and folders.</summary>
public sealed class TextDatasetTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-text-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void WindowsAreContextAndNextTokensAndTheSplitIsByPosition()
    {
        var tok = Tokenizer.CharLevel("abcdefghij");
        var data = new TextDataset("abcdefghij", tok, context: 3, trainFraction: 0.6f);
        Assert.Equal([0, 1, 2, 3, 4, 5], data.TrainTokens.ToArray());
        Assert.Equal([6, 7, 8, 9], data.ValidationTokens.ToArray());
        Assert.Equal(3, data.TrainWindows);
        Assert.Equal(1, data.ValidationWindows);
        var (x, y) = data.Window(1);
        Assert.Equal([1f, 2f, 3f], x.ToArray());
        Assert.Equal([2f, 3f, 4f], y.ToArray());
        var (vx, vy) = data.Window(0, validationPart: true);
        Assert.Equal([6f, 7f, 8f], vx.ToArray());
        Assert.Equal([7f, 8f, 9f], vy.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Window(3));
    }

    [Fact]
    public void TheDefaultSplitIsNinetyTen()
    {
        var text = new string('a', 100);
        var data = new TextDataset(text, Tokenizer.CharLevel(text), context: 4);
        Assert.Equal(90, data.TrainTokens.Length);
        Assert.Equal(10, data.ValidationTokens.Length);
    }

    [Fact]
    public void RandomBatchesAreSeededAndTargetsAreTheInputsShiftedByOne()
    {
        string text = string.Concat(Enumerable.Range(0, 200).Select(i => (char)('a' + i * 7 % 26)));
        var data = new TextDataset(text, Tokenizer.CharLevel(text), context: 5);
        var (x1, y1) = data.RandomBatch(4, new Rng(9));
        var (x2, y2) = data.RandomBatch(4, new Rng(9));
        Assert.Equal(x1.ToArray(), x2.ToArray());
        Assert.Equal(y1.ToArray(), y2.ToArray());
        Assert.Equal(new[] { 4, 5 }, x1.Shape);
        Assert.Equal(new[] { 20 }, y1.Shape);
        var xs = x1.ToArray();
        var ys = y1.ToArray();
        var train = data.TrainTokens.ToArray();
        for (int b = 0; b < 4; b++)
        {
            for (int i = 0; i < 4; i++) Assert.Equal(xs[b * 5 + i + 1], ys[b * 5 + i]);
            // The last target is the token after the window in the training text.
            int start = Enumerable.Range(0, data.TrainWindows).First(s => Enumerable.Range(0, 5).All(i => train[s + i] == xs[b * 5 + i]));
            Assert.Equal(train[start + 5], ys[b * 5 + 4]);
        }
        Assert.NotEqual(x1.ToArray(), data.RandomBatch(4, new Rng(10)).Input.ToArray());
    }

    [Fact]
    public void AContextLongerThanAPartIsRefusedWithTheCounts()
    {
        var e = Assert.Throws<ArgumentException>(() => new TextDataset("abcdefghijklmnopqrst", Tokenizer.CharLevel("abcdefghijklmnopqrst"), context: 8));
        Assert.Equal("the text has 20 tokens, split 18 for training and 2 for validation, but a context of 8 needs at least 9 in each; use a shorter --context or more text.", e.Message);
    }

    [Fact]
    public void AFolderIsItsFilesInOrdinalOrder()
    {
        File.WriteAllText(Path.Combine(dir, "b.txt"), "second\n");
        File.WriteAllText(Path.Combine(dir, "a.txt"), "first\r\n");
        Directory.CreateDirectory(Path.Combine(dir, "c"));
        File.WriteAllText(Path.Combine(dir, "c", "d.txt"), "third\n");
        Assert.Equal("first\nsecond\nthird\n", TextCorpus.Read(dir));
    }

    [Fact]
    public void MissingAndEmptyTextAreNamed()
    {
        var missing = Path.Combine(dir, "none.txt");
        Assert.Equal($"no text file or folder at '{missing}'.", Assert.Throws<FileNotFoundException>(() => TextCorpus.Read(missing)).Message);
        Assert.Equal("no text at '/usr/share/games/fortunes/no-such-fortune-file': it comes with Debian's 'fortunes' package; install it with 'apt-get install -y fortunes'.",
            Assert.Throws<FileNotFoundException>(() => TextCorpus.Read("/usr/share/games/fortunes/no-such-fortune-file")).Message);
        Assert.Contains("apt-get install -y wamerican", Assert.Throws<FileNotFoundException>(() => TextCorpus.Read("/usr/share/dict/no-such-words")).Message);
        var empty = Path.Combine(dir, "empty.txt");
        File.WriteAllText(empty, "");
        Assert.Equal($"the text file '{empty}' is empty; give a file with some text in it.", Assert.Throws<DataFormatException>(() => TextCorpus.Read(empty)).Message);
    }
}
