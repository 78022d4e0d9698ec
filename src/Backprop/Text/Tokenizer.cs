using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;

namespace Backprop.Text;

/// <summary>
/// Turns text into token ids and back. Two kinds: <c>char</c>, one token per UTF-16 code unit of a vocabulary taken
/// from the training text (ids in the code units' sorted order, as nanoGPT's character model), and <c>byte</c>, one
/// token per byte of the UTF-8 encoding (always 256 ids, any text encodes). Saved inside model files
/// (<see cref="IO.ModelInfo.Tokenizer"/>), so <c>generate</c> decodes what the model was trained on.
/// </summary>
public sealed class Tokenizer
{
    /// <summary>The kind name of a character-level tokenizer.</summary>
    public const string CharKind = "char";

    /// <summary>The kind name of a byte-level tokenizer.</summary>
    public const string ByteKind = "byte";

    private readonly Dictionary<char, int> ids = [];

    /// <summary>A tokenizer of <paramref name="kind"/> (<c>char</c> with its <paramref name="vocabulary"/>, or <c>byte</c>).</summary>
    /// <exception cref="ArgumentException">The kind is unknown, or a char vocabulary is empty or repeats a character.</exception>
    [JsonConstructor]
    public Tokenizer(string kind, string? vocabulary = null)
    {
        ArgumentNullException.ThrowIfNull(kind);
        Kind = kind;
        switch (kind)
        {
            case CharKind:
                if (string.IsNullOrEmpty(vocabulary))
                    throw new ArgumentException("a char tokenizer needs a vocabulary of at least one character but got none.");
                for (int i = 0; i < vocabulary.Length; i++)
                    if (!ids.TryAdd(vocabulary[i], i))
                        throw new ArgumentException($"a char tokenizer's vocabulary lists {Show(vocabulary[i])} twice (at {ids[vocabulary[i]]} and {i}).");
                Vocabulary = vocabulary;
                break;
            case ByteKind:
                if (vocabulary is not null) throw new ArgumentException("a byte tokenizer has the fixed vocabulary of 256 bytes; it takes no vocabulary.");
                break;
            default:
                throw new ArgumentException($"a tokenizer is 'char' or 'byte' but got '{kind}'.");
        }
    }

    /// <summary>A character-level tokenizer whose vocabulary is every distinct UTF-16 code unit of <paramref name="text"/>, sorted.</summary>
    /// <exception cref="ArgumentException">The text is empty.</exception>
    public static Tokenizer CharLevel(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0) throw new ArgumentException("a char tokenizer needs text to take its vocabulary from, but the text is empty.");
        var chars = new SortedSet<char>(text);
        return new Tokenizer(CharKind, new string([.. chars]));
    }

    /// <summary>The byte-level tokenizer: UTF-8 bytes, 256 ids.</summary>
    public static Tokenizer ByteLevel { get; } = new(ByteKind);

    /// <summary><c>char</c> or <c>byte</c>.</summary>
    public string Kind { get; }

    /// <summary>The characters of a char tokenizer, by id; null for bytes.</summary>
    public string? Vocabulary { get; }

    /// <summary>The number of distinct ids.</summary>
    [JsonIgnore]
    public int VocabSize => Vocabulary?.Length ?? 256;

    /// <summary>The ids of <paramref name="text"/>.</summary>
    /// <exception cref="ArgumentException">A character is not in a char tokenizer's vocabulary.</exception>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Vocabulary is null) return [.. Encoding.UTF8.GetBytes(text).Select(b => (int)b)];
        var result = new int[text.Length];
        for (int i = 0; i < text.Length; i++)
            result[i] = ids.TryGetValue(text[i], out int id) ? id
                : throw new ArgumentException($"the text has {Show(text[i])} at position {i}, which is not among the model's {VocabSize} characters.");
        return result;
    }

    /// <summary>The text of <paramref name="tokens"/> (invalid UTF-8 from a byte model becomes U+FFFD).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, <see cref="VocabSize"/>).</exception>
    public string Decode(ReadOnlySpan<int> tokens)
    {
        var decoder = NewDecoder();
        var text = new StringBuilder();
        foreach (int t in tokens) text.Append(decoder.Next(t));
        return text.ToString();
    }

    /// <summary>A decoder that turns ids into text one at a time, holding back the bytes of an unfinished UTF-8 character.</summary>
    public StreamDecoder NewDecoder() => new(this);

    /// <summary>A description, e.g. <c>char (65 symbols)</c>.</summary>
    public override string ToString() => Vocabulary is null ? "byte (256 symbols)" : $"char ({VocabSize} symbols)";

    internal char CharOf(int id) =>
        (uint)id < (uint)VocabSize ? Vocabulary![id]
            : throw new ArgumentOutOfRangeException(nameof(id), id, $"token {id} is outside the vocabulary [0, {VocabSize}).");

    private static string Show(char c) =>
        char.IsControl(c) || char.IsWhiteSpace(c) ? $"U+{((int)c).ToString("X4", CultureInfo.InvariantCulture)}" : $"'{c}'";

    /// <summary>Turns ids into text one at a time (what streaming generation prints).</summary>
    public sealed class StreamDecoder
    {
        private readonly Tokenizer tokenizer;
        private readonly Decoder? utf8;
        private readonly char[] chars = new char[4];

        internal StreamDecoder(Tokenizer tokenizer)
        {
            this.tokenizer = tokenizer;
            if (tokenizer.Vocabulary is null) utf8 = Encoding.UTF8.GetDecoder();
        }

        /// <summary>The text that <paramref name="token"/> completes (empty inside a multi-byte UTF-8 character).</summary>
        /// <exception cref="ArgumentOutOfRangeException">The id is outside the vocabulary.</exception>
        public string Next(int token)
        {
            if (utf8 is null) return tokenizer.CharOf(token).ToString();
            if ((uint)token > 255) throw new ArgumentOutOfRangeException(nameof(token), token, $"token {token} is outside the byte vocabulary [0, 256).");
            ReadOnlySpan<byte> one = [(byte)token];
            int n = utf8.GetChars(one, chars, flush: false);
            return new string(chars, 0, n);
        }
    }
}
