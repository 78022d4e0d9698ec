namespace Backprop;

/// <summary>
/// Hooks in registration order. Registering and removing replace the array under a lock, so a call that is running
/// the hooks reads a snapshot and is never disturbed by another thread adding or removing one.
/// </summary>
internal sealed class HookList<T> where T : class
{
    private T[] hooks = [];
    private readonly Lock gate = new();

    public bool IsEmpty => Volatile.Read(ref hooks).Length == 0;

    /// <summary>The hooks now, first registered first (an array no one changes).</summary>
    public T[] Snapshot => Volatile.Read(ref hooks);

    public HookHandle Add(T hook)
    {
        lock (gate) hooks = [.. hooks, hook];
        HookRegistry.Changed();
        return new HookHandle(() =>
        {
            // The same delegate registered twice is two equal hooks: removing either first one is the same.
            lock (gate)
            {
                int i = Array.FindIndex(hooks, h => ReferenceEquals(h, hook));
                if (i >= 0) hooks = [.. hooks[..i], .. hooks[(i + 1)..]];
            }
            HookRegistry.Changed();
        });
    }
}

/// <summary>Counts hook registrations and removals anywhere, so a compiled path can notice hooks that came later.</summary>
internal static class HookRegistry
{
    private static int version;

    /// <summary>Changes whenever a hook is added or removed on any module or tensor.</summary>
    public static int Version => Volatile.Read(ref version);

    public static void Changed() => Interlocked.Increment(ref version);
}
