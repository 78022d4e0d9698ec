namespace Backprop.Nn;

public abstract partial class Module
{
    /// <summary>
    /// <see cref="NamedParameters"/> with the module that owns each parameter (for rules such as "no weight decay on
    /// BatchNorm"); a shared tensor is listed once, under its first path.
    /// </summary>
    internal IEnumerable<(string Name, Module Owner, Tensor Parameter)> NamedParameterOwners()
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (name, (owner, p)) in Walk(static m => m.OwnParameters().Select(p => (p.Name, (m, p.Parameter)))))
            if (seen.Add(p)) yield return (name, owner, p);
    }
}
