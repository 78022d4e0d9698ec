namespace Backprop;

/// <summary>
/// What registering a hook returns (PyTorch's <c>RemovableHandle</c>): <see cref="Dispose"/> removes the hook, so
/// <c>using var handle = module.RegisterForwardHook(...)</c> keeps it for a scope. Disposing twice does nothing.
/// </summary>
public sealed class HookHandle : IDisposable
{
    private Action? remove;

    internal HookHandle(Action remove) => this.remove = remove;

    /// <summary>Whether the hook is still registered.</summary>
    public bool IsActive => Volatile.Read(ref remove) is not null;

    /// <summary>Removes the hook.</summary>
    public void Dispose() => Interlocked.Exchange(ref remove, null)?.Invoke();
}
