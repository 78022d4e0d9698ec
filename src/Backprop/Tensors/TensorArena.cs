namespace Backprop;

/// <summary>
/// The library's step-scoped pool of float buffers (design A of the architecture review): while a
/// <see cref="Step"/> scope is open on a thread, the storage of tensors that ops create there (forward results,
/// backward temporaries, intermediate gradients) is rented from this thread's pool, and every buffer rented in the
/// scope goes back to the pool when it closes. A steady-state training step therefore reuses the previous step's
/// buffers instead of allocating new ones. The graph's objects are pooled the same way: the tensor objects that hold
/// rented storage (and views of them) and the nodes of ops recorded in the static form (<see cref="GradNode"/>) go
/// back to this pool when the scope closes, so such a step allocates nothing at all.
/// </summary>
/// <remarks>
/// <para>
/// Size classes are exact lengths, so a rented array is exactly as long as the tensor it stores
/// (<see cref="Tensor.Size"/> is its length everywhere). A class left unused for <see cref="IdleSteps"/> outermost
/// steps drops its buffers to the garbage collector, so a model whose shapes change does not keep old sizes alive.
/// </para>
/// <para>
/// Only the library opens scopes (<c>Fit</c>'s graph step, <c>Evaluate</c>'s batches), so "no tensor needs
/// disposing" stays true: code that never sees a scope allocates as before. Inside one, nothing the step made may be
/// kept past it: a module must not store a tensor computed in <c>Forward</c> (its storage and the tensor object itself
/// are reused by the next step).
/// Parameters, their leaf gradients, optimizer state and every public creation helper (<c>Zeros</c>,
/// <c>FromArray</c>, <c>Clone</c>, ...) always allocate ordinary memory. With <see cref="PoisonOnRelease"/> (on in
/// Debug builds) a returned buffer is filled with NaN, so reading a tensor after its scope closed shows up in tests.
/// </para>
/// </remarks>
internal sealed class TensorArena
{
    /// <summary>Outermost steps a size class may go unused before its buffers are dropped.</summary>
    internal const int IdleSteps = 16;

    // This thread's pool; it outlives the scopes so that the next step finds the last step's buffers.
    [ThreadStatic] private static TensorArena? threadArena;

    // Internal switch (tests compare a run with and without the pool): Step() opens nothing while it is set.
    [ThreadStatic] private static bool disabled;

    /// <summary>Whether returned buffers are filled with NaN (use-after-release shows up as NaN). On in Debug builds.</summary>
    internal static bool PoisonOnRelease { get; set; } =
#if DEBUG
        true;
#else
        false;
#endif

    private readonly Dictionary<int, SizeClass> classes = [];

    // Every buffer rented in the open scopes, innermost last; an entry released early is null.
    private readonly List<float[]?> leased = [];
    private int depth, sessions;
    private long steps;

    // The graph's objects, pooled like the buffers: every tensor object handed out in the open scopes (innermost
    // last), the free ones, and free nodes of the static form by how many inputs and saved tensors they hold.
    private readonly List<Tensor> tensors = [];
    private readonly Stack<Tensor> freeTensors = new();
    private readonly Stack<GradNode>?[] freeNodes = new Stack<GradNode>?[(MaxNodeInputs + 1) * (MaxNodeSaved + 1)];

    /// <summary>The most inputs a pooled node holds (more get an ordinary node).</summary>
    internal const int MaxNodeInputs = 8;

    /// <summary>The most saved tensors a pooled node holds.</summary>
    internal const int MaxNodeSaved = 4;

    private sealed class SizeClass
    {
        public readonly Stack<float[]> Free = new();
        public long LastUsed;
    }

    /// <summary>
    /// Opens a step scope on this thread: until it is disposed, ops rent their results' storage from the pool.
    /// Scopes nest; an inner scope returns only what was rented inside it.
    /// </summary>
    public static StepScope Step()
    {
        if (disabled) return default;
        var arena = threadArena ??= new TensorArena();
        arena.depth++;
        return new StepScope(arena, arena.leased.Count, arena.tensors.Count, arena.depth);
    }

    /// <summary>
    /// Opens a run of steps (<c>Fit</c>, <c>Evaluate</c>): when the outermost run on this thread ends, the pool lets go
    /// of every free buffer, so memory sized for training is not held after it.
    /// </summary>
    public static SessionScope Session()
    {
        var arena = threadArena ??= new TensorArena();
        arena.sessions++;
        return new SessionScope(arena);
    }

    /// <summary>
    /// Turns the pool off on this thread until the returned scope is disposed: <see cref="Step"/> opens nothing, so
    /// every op allocates ordinary memory (the reference that the pooled run must equal bit for bit).
    /// </summary>
    internal static DisabledScope Disable()
    {
        bool was = disabled;
        disabled = true;
        return new DisabledScope(was);
    }

    /// <summary>The pool of the scope open on this thread, or null when none is.</summary>
    internal static TensorArena? Active => threadArena is { depth: > 0 } arena ? arena : null;

    /// <summary>
    /// A buffer of <paramref name="length"/> floats: rented from the open scope (zeroed when
    /// <paramref name="clear"/>), or a new array when none is open. <paramref name="lease"/> is its index in the
    /// scope's list (−1 for a new array); a tensor stores it so that its buffer can be returned before the scope ends.
    /// Raw buffers taken with lease ignored must never become a tensor's storage.
    /// </summary>
    internal static float[] Rent(int length, bool clear, out int lease)
    {
        var arena = Active;
        if (arena is null || length == 0)
        {
            lease = -1;
            return length == 0 ? [] : new float[length];
        }
        return arena.RentHere(length, clear, out lease);
    }

    /// <summary>
    /// A tensor of shape <paramref name="dims"/> (an array nobody writes to: it may be shared) whose storage is rented
    /// from the open scope (zeroed when <paramref name="clear"/>); the tensor object itself comes from the scope's
    /// pool and goes back to it when the scope closes. Without a scope, an ordinary tensor.
    /// </summary>
    internal static Tensor NewTensor(int[] dims, bool clear)
    {
        var storage = Rent(Shapes.Size(dims), clear, out int lease);
        if (Active is not { } arena) return new Tensor(dims, storage);
        var t = arena.PooledTensor(dims, storage);
        t.lease = lease;
        return t;
    }

    /// <summary>
    /// A view of <paramref name="source"/>'s storage in shape <paramref name="dims"/>: from the scope's pool when
    /// <paramref name="source"/> is itself a pooled step tensor (so the view cannot outlive what it shows), else an
    /// ordinary object.
    /// </summary>
    internal static Tensor NewView(int[] dims, Tensor source)
    {
        var arena = Active;
        return arena is not null && source.pooled ? arena.PooledTensor(dims, source.data) : new Tensor(dims, source.data);
    }

    /// <summary>
    /// A node of the static form for an op with <paramref name="inputs"/> inputs and <paramref name="saved"/> saved
    /// tensors: from the scope's pool when the op's output is a pooled step tensor, else a new one.
    /// </summary>
    internal static GradNode NewNode(Tensor output, int inputs, int saved)
    {
        if (!output.pooled || Active is not { } arena || inputs > MaxNodeInputs || saved > MaxNodeSaved) return new GradNode(inputs, saved);
        var free = arena.freeNodes[inputs * (MaxNodeSaved + 1) + saved];
        return free is { Count: > 0 } ? free.Pop() : new GradNode(inputs, saved) { Pooled = true };
    }

    private Tensor PooledTensor(int[] dims, float[] storage)
    {
        var t = freeTensors.TryPop(out var reused) ? reused.Reuse(dims, storage) : new Tensor(dims, storage) { pooled = true };
        tensors.Add(t);
        return t;
    }

    /// <summary>Scratch floats for the rest of the step (zeroed): rented inside a scope, else a new array.</summary>
    internal static float[] Floats(int length) => Rent(length, clear: true, out _);

    /// <summary>
    /// <see cref="Floats"/> without the zeroing, for scratch its user writes in full before reading any of it: a
    /// rented buffer holds whatever its last user left.
    /// </summary>
    internal static float[] UninitializedFloats(int length) => Rent(length, clear: false, out _);

    /// <summary>
    /// Returns a tensor's rented storage to the pool now, before its scope closes: for a value nothing reads any more
    /// (an intermediate gradient its op has consumed). Does nothing for ordinary storage or a stale lease.
    /// </summary>
    internal static void Release(Tensor t)
    {
        int lease = t.lease;
        if (lease < 0) return;
        t.lease = -1;
        var arena = Active;
        if (arena is null || lease >= arena.leased.Count || !ReferenceEquals(arena.leased[lease], t.data)) return;
        arena.leased[lease] = null;
        arena.Return(t.data);
    }

    /// <summary>How many free buffers the pool holds (tests).</summary>
    internal static int FreeBuffers
    {
        get
        {
            int n = 0;
            if (threadArena is { } arena) foreach (var c in arena.classes.Values) n += c.Free.Count;
            return n;
        }
    }

    private float[] RentHere(int length, bool clear, out int lease)
    {
        if (!classes.TryGetValue(length, out var sizeClass)) classes[length] = sizeClass = new SizeClass();
        sizeClass.LastUsed = steps;
        float[] buffer;
        if (sizeClass.Free.TryPop(out var reused))
        {
            buffer = reused;
            if (clear) Array.Clear(buffer);
        }
        else buffer = new float[length];
        lease = leased.Count;
        leased.Add(buffer);
        return buffer;
    }

    private void Return(float[] buffer)
    {
        if (PoisonOnRelease) buffer.AsSpan().Fill(float.NaN);
        classes[buffer.Length].Free.Push(buffer);
    }

    private void Close(int mark, int tensorMark, int scopeDepth)
    {
        if (depth != scopeDepth) return;   // disposed twice, or out of order: the outer scope returns everything
        for (int i = leased.Count - 1; i >= mark; i--)
            if (leased[i] is { } buffer) Return(buffer);
        leased.RemoveRange(mark, leased.Count - mark);
        for (int i = tensors.Count - 1; i >= tensorMark; i--)
        {
            var t = tensors[i];
            if (t.RetainsGrad)
            {
                t.pooled = false;   // kept for its gradient (RetainGrad), which outlives the step: left to the collector
                continue;
            }
            if (t.Node is { Pooled: true } node)
            {
                node.Clear();
                (freeNodes[node.Inputs.Length * (MaxNodeSaved + 1) + node.Saved.Length] ??= new()).Push(node);
            }
            t.Recycle();
            freeTensors.Push(t);
        }
        tensors.RemoveRange(tensorMark, tensors.Count - tensorMark);
        depth--;
        if (depth == 0 && ++steps % IdleSteps == 0) DropIdleClasses();
    }

    private void EndSession()
    {
        if (--sessions > 0 || depth > 0) return;
        classes.Clear();
        freeTensors.Clear();
        Array.Clear(freeNodes);
    }

    private void DropIdleClasses()
    {
        foreach (var sizeClass in classes.Values)
            if (steps - sizeClass.LastUsed > IdleSteps) sizeClass.Free.Clear();
    }

    /// <summary>An open step; disposing it returns every buffer rented in it to the pool.</summary>
    internal readonly struct StepScope : IDisposable
    {
        private readonly TensorArena? arena;
        private readonly int mark, tensorMark, depth;

        internal StepScope(TensorArena arena, int mark, int tensorMark, int depth) =>
            (this.arena, this.mark, this.tensorMark, this.depth) = (arena, mark, tensorMark, depth);

        /// <summary>Closes the step.</summary>
        public void Dispose() => arena?.Close(mark, tensorMark, depth);
    }

    /// <summary>An open run of steps; disposing the outermost one empties the pool.</summary>
    internal readonly struct SessionScope : IDisposable
    {
        private readonly TensorArena? arena;

        internal SessionScope(TensorArena arena) => this.arena = arena;

        /// <summary>Ends the run.</summary>
        public void Dispose() => arena?.EndSession();
    }

    /// <summary>Restores the pool's switch when disposed.</summary>
    internal readonly struct DisabledScope(bool was) : IDisposable
    {
        /// <summary>Turns the pool back on (unless it was off before).</summary>
        public void Dispose() => disabled = was;
    }
}
