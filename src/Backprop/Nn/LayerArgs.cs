namespace Backprop.Nn;

/// <summary>
/// The arguments of one layer token after they were checked against its <see cref="LayerKind.Params"/>: what a
/// layer factory reads. Asking for an argument the layer does not declare is a bug in the table, not a user error.
/// </summary>
public sealed class LayerArgs
{
    private readonly Dictionary<string, object[]> values;

    internal LayerArgs(Dictionary<string, object[]> values) => this.values = values;

    /// <summary>Whether the token gave <paramref name="name"/>.</summary>
    public bool Has(string name) => values.ContainsKey(name);

    /// <summary>A required whole-number argument.</summary>
    public int Int(string name) => (int)Get(name)[0];

    /// <summary>A whole-number argument, or <paramref name="fallback"/> when the token does not give it.</summary>
    public int Int(string name, int fallback) => values.TryGetValue(name, out var v) ? (int)v[0] : fallback;

    /// <summary>A number argument, or <paramref name="fallback"/> when the token does not give it.</summary>
    public float Float(string name, float fallback) => values.TryGetValue(name, out var v) ? (float)v[0] : fallback;

    /// <summary>A true/false argument, or <paramref name="fallback"/> when the token does not give it.</summary>
    public bool Bool(string name, bool fallback) => values.TryGetValue(name, out var v) ? (bool)v[0] : fallback;

    /// <summary>Every value of a repeated whole-number argument, in order.</summary>
    public int[] Ints(string name) => [.. Get(name).Cast<int>()];

    private object[] Get(string name) => values.TryGetValue(name, out var v) ? v
        : throw new InvalidOperationException($"layer table bug: argument '{name}' is read but was neither required nor given.");
}
