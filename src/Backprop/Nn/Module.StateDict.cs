namespace Backprop.Nn;

public abstract partial class Module
{
    /// <summary>
    /// The model's state by name, as PyTorch's <c>state_dict()</c>: every parameter, then every buffer, each once,
    /// named by path (<c>0.weight</c>, <c>1.running_mean</c>). The tensors are the model's own, not copies.
    /// </summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> StateDict() => [.. NamedParameters(), .. NamedBuffers()];

    /// <summary>
    /// Copies <paramref name="state"/>'s values into this model's parameters and buffers of the same names, as
    /// PyTorch's <c>load_state_dict</c>. Strict (the default): the names must match exactly. Not strict: names only
    /// one side has are skipped and returned. A tensor whose shape differs from the model's is refused either way.
    /// Nothing is copied unless every check passes.
    /// </summary>
    /// <returns>The model's names that <paramref name="state"/> lacks, and <paramref name="state"/>'s names the model lacks.</returns>
    /// <exception cref="ArgumentException">
    /// A shape differs, or (strict) a name is missing or unexpected; the message lists every such name.
    /// </exception>
    public (IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected) LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var own = StateDict();
        var missing = own.Where(o => !state.ContainsKey(o.Name)).Select(o => o.Name).ToList();
        var ownNames = own.Select(o => o.Name).ToHashSet();
        var unexpected = state.Keys.Where(k => !ownNames.Contains(k)).Order(StringComparer.Ordinal).ToList();
        var misShaped = own.Where(o => state.TryGetValue(o.Name, out var s) && !Shapes.Equal(s.dims, o.Tensor.dims))
            .Select(o => $"'{o.Name}' is {Shapes.Format(o.Tensor.dims)} in the model but {Shapes.Format(state[o.Name].dims)} in the state")
            .ToList();

        var problems = new List<string>();
        if (misShaped.Count > 0) problems.Add($"shapes differ: {string.Join("; ", misShaped)}");
        if (strict && missing.Count > 0) problems.Add($"missing (the model has them, the state does not): {string.Join(", ", missing)}");
        if (strict && unexpected.Count > 0) problems.Add($"unexpected (the state has them, the model does not): {string.Join(", ", unexpected)}");
        if (problems.Count > 0)
            throw new ArgumentException($"cannot load the state into {GetType().Name}: {string.Join(". ", problems)}.");

        foreach (var (name, tensor) in own)
            if (state.TryGetValue(name, out var value))
            {
                value.AsSpan().CopyTo(tensor.AsSpan());
                tensor.MarkWritten();
            }
        return (missing, unexpected);
    }
}
