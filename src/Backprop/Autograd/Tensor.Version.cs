namespace Backprop;

// PyTorch's version counter: every in-place write through the API bumps it, every graph node remembers the versions
// of the tensors its backward will read, and Backward() refuses to run on values that changed in between (which
// would silently give the gradient at other values than the forward pass saw).
public sealed partial class Tensor
{
    private int version;

    // The tensor whose storage this one shares (Reshape, Detach) and which holds the shared version; null for an
    // owner of its storage.
    private Tensor? viewOf;

    /// <summary>
    /// How many times this tensor's values were written in place through the API: the indexer, an optimizer's
    /// <see cref="Optim.Optimizer.Step"/>, a resumed checkpoint. Views made by <see cref="Reshape(int[])"/> and
    /// <see cref="Detach"/> share their source's count, as they share its storage. Like PyTorch's <c>_version</c>.
    /// </summary>
    /// <remarks>
    /// <see cref="Backward()"/> throws when a tensor an op saved for its backward has a newer version than when the op
    /// ran. Writes through <see cref="AsSpan"/> are not counted: the span is the raw storage, like PyTorch's
    /// <c>.data</c>, for code that knows no graph still needs the old values.
    /// </remarks>
    public int Version => (viewOf ?? this).version;

    /// <summary>Counts an in-place write to this tensor's storage (seen by every view of it).</summary>
    internal void MarkWritten() => (viewOf ?? this).version++;

    /// <summary>Makes this tensor, which shares <paramref name="source"/>'s storage, share its version too.</summary>
    private Tensor ViewOf(Tensor source)
    {
        viewOf = source.viewOf ?? source;
        return this;
    }

    /// <summary>
    /// Throws when a tensor <paramref name="node"/> saved for its backward was written since the node recorded its
    /// version; <paramref name="output"/> is the node's result.
    /// </summary>
    private static void CheckSavedVersions(GradNode node, Tensor output)
    {
        var saved = node.Saved;
        for (int i = 0; i < saved.Length; i++)
        {
            int now = saved[i].Version, then = node.SavedVersions[i];
            if (now == then) continue;
            throw new InvalidOperationException(
                $"{Describe(saved[i], node, output)} was modified in place after '{node.Op}' saved it for backward " +
                $"(version {then} → {now}); clone it before writing, or write before the forward pass.");
        }
    }

    private static string Describe(Tensor t, GradNode node, Tensor output)
    {
        if (t.Name is { } name) return $"'{name}'";
        if (ReferenceEquals(t, output)) return $"the {Shapes.Format(t.dims)} output of '{node.Op}'";
        int input = Array.IndexOf(node.Inputs, t);
        return $"the {Shapes.Format(t.dims)} tensor that is input {input} of '{node.Op}'";
    }
}
