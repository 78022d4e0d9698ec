using System.Collections;
using System.Collections.Immutable;
using Backprop.Nn;

namespace Backprop.Tests.Nn;

/// <summary>
/// The collection field types module discovery recognizes without walking interfaces (so trimmed and native AOT apps
/// see the same children): covariant sequences of a Module subtype, string-keyed dictionaries read by key, and a
/// string-keyed collection that is not an IDictionary refused by name.
/// </summary>
public sealed class ModuleCollectionFieldTests
{
    private sealed class Collections : Module
    {
        private readonly IReadOnlyList<Dense> list = [new(2, 2, rng: new Rng(1))];
        private readonly ImmutableArray<Dense> immutable = [new(2, 2, rng: new Rng(2))];
        private readonly IEnumerable<Module> sequence = new Module[] { new Tanh(), new Dense(2, 2, rng: new Rng(3)) };
        private readonly SortedDictionary<string, Dense> sorted = new(StringComparer.Ordinal) { ["b"] = new(2, 2, rng: new Rng(4)), ["a"] = new(2, 2, rng: new Rng(5)) };
        private readonly IReadOnlyDictionary<string, Tensor> scales = new Dictionary<string, Tensor> { ["x"] = Tensor.Ones(2) };
        public override Tensor Forward(Tensor input) => input;
    }

    [Fact]
    public void SequencesAreNumberedAndDictionariesKeyed()
    {
        var m = new Collections();
        Assert.Equal(["list.0", "immutable.0", "sequence.0", "sequence.1", "sorted.a", "sorted.b"], m.Children().Select(c => c.Name));
        Assert.Equal(["scales.x", "list.0.weight", "list.0.bias", "immutable.0.weight", "immutable.0.bias", "sequence.1.weight", "sequence.1.bias",
            "sorted.a.weight", "sorted.a.bias", "sorted.b.weight", "sorted.b.bias"], m.NamedParameters().Select(p => p.Name));
    }

    /// <summary>A read-only dictionary of its own that is not an IDictionary: its keys cannot be read without reflection.</summary>
    private sealed class Lookup(Dense only) : IReadOnlyDictionary<string, Dense>
    {
        public Dense this[string key] => key == "only" ? only : throw new KeyNotFoundException(key);
        public IEnumerable<string> Keys => ["only"];
        public IEnumerable<Dense> Values => [only];
        public int Count => 1;
        public bool ContainsKey(string key) => key == "only";
        public bool TryGetValue(string key, out Dense value) { value = only; return key == "only"; }
        public IEnumerator<KeyValuePair<string, Dense>> GetEnumerator() { yield return new("only", only); }
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed class OwnLookup : Module
    {
        private readonly IReadOnlyDictionary<string, Dense> heads = new Lookup(new Dense(2, 2));
        public override Tensor Forward(Tensor input) => heads["only"].Forward(input);
    }

    [Fact]
    public void AStringKeyedCollectionThatIsNotADictionaryIsRefusedByName()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new OwnLookup().Parameters());
        Assert.Equal("OwnLookup.heads is a Lookup, a string-keyed collection that is not an IDictionary, so Backprop cannot name its entries: " +
            "use a Dictionary<string, T> (or SortedDictionary), or override Children()/OwnParameters().", e.Message);
    }
}
