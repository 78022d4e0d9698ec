using Backprop.IO;
using Backprop.Nn;
using Backprop.Text;

namespace Backprop.Tests.Text;

/// <summary>The char and byte tokenizers: ids, round trips, streaming decoding, errors, and the copy saved in model files.</summary>
public sealed class TokenizerTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-tok-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void CharVocabularyIsTheSortedDistinctCharactersAndRoundTrips()
    {
        var tok = Tokenizer.CharLevel("hello, world\n");
        Assert.Equal("\n ,dehlorw", tok.Vocabulary);
        Assert.Equal(10, tok.VocabSize);
        Assert.Equal([5, 4, 6, 6, 7], tok.Encode("hello"));
        Assert.Equal("world\n", tok.Decode(tok.Encode("world\n")));
    }

    [Fact]
    public void ByteIdsAreUtf8BytesAndRoundTrip()
    {
        var tok = Tokenizer.ByteLevel;
        Assert.Equal(256, tok.VocabSize);
        Assert.Equal([0x68, 0xC3, 0xA9, 0xE2, 0x9C, 0x93], tok.Encode("hé✓"));
        Assert.Equal("hé✓ and more", tok.Decode(tok.Encode("hé✓ and more")));
    }

    [Fact]
    public void StreamingDecoderHoldsBackAnUnfinishedUtf8Character()
    {
        var decoder = Tokenizer.ByteLevel.NewDecoder();
        Assert.Equal("a", decoder.Next('a'));
        Assert.Equal("", decoder.Next(0xC3));
        Assert.Equal("é", decoder.Next(0xA9));
    }

    [Fact]
    public void ACharOutsideTheVocabularyIsNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => Tokenizer.CharLevel("abc").Encode("abz"));
        Assert.Equal("the text has 'z' at position 2, which is not among the model's 3 characters.", e.Message);
        Assert.Throws<ArgumentException>(() => Tokenizer.CharLevel(""));
        Assert.Throws<ArgumentException>(() => new Tokenizer("word"));
    }

    [Theory]
    [InlineData("char")]
    [InlineData("byte")]
    public void TheTokenizerIsSavedInTheModelFile(string kind)
    {
        var tok = kind == "char" ? Tokenizer.CharLevel("the quick brown fox\n") : Tokenizer.ByteLevel;
        var model = new Gpt(tok.VocabSize, 1, 1, 4, 4, rng: new Rng(1));
        var path = Path.Combine(dir, "m.safetensors");
        model.Save(path, new ModelInfo { Tokenizer = tok });
        var (loaded, info) = ModelFile.Load(path);
        Assert.IsType<Gpt>(loaded);
        Assert.NotNull(info.Tokenizer);
        Assert.Equal(tok.Kind, info.Tokenizer.Kind);
        Assert.Equal(tok.Vocabulary, info.Tokenizer.Vocabulary);
        Assert.Equal("fox", info.Tokenizer.Decode(tok.Encode("fox")));
    }

    [Fact]
    public void AFileWithoutATokenizerStillLoads()
    {
        var path = Path.Combine(dir, "dense.safetensors");
        new Sequential(new Dense(2, 3)).Save(path, new ModelInfo { Loss = "mse" });
        var (_, info) = ModelFile.Load(path);
        Assert.Null(info.Tokenizer);
        Assert.Equal("mse", info.Loss);
    }
}
