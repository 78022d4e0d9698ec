using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>The recurrent cells' nonlinear step (after the two matrix products), forward and backward side by side.</summary>
internal enum RecurrentCell
{
    /// <summary>Elman RNN with tanh: h' = tanh(W_ih x + b_ih + W_hh h + b_hh); one gate block.</summary>
    RnnTanh,
    /// <summary>Elman RNN with ReLU; one gate block.</summary>
    RnnRelu,
    /// <summary>LSTM, gate blocks i, f, g, o (PyTorch's order).</summary>
    Lstm,
    /// <summary>GRU, gate blocks r, z, n (PyTorch's order).</summary>
    Gru,
}

/// <summary>
/// Per-row gate math of one time step, B = batch rows, H = hidden size. Pre-activations arrive as xp (input side,
/// W_ih x + b_ih) and hp (hidden side, W_hh h + b_hh), each [B, G·H] with G gate blocks of H. No allocation.
/// </summary>
/// <remarks>
/// Every cell runs at a <see cref="SimdWidth"/>: the RNN cells as <see cref="SimdDriver"/> maps, the LSTM and GRU
/// cells, which read and write several blocks per element, as a cell struct (<see cref="ICellStep"/>) that a loop of
/// this class runs over whole vectors of the width, then narrower tails, then single floats. σ is
/// <see cref="FloatSigmoidPair"/>, tanh <see cref="FloatTanh"/>, multiply and add kept separate, so every width gives
/// the bits of the scalar twin (<c>backprop selftest</c> checks the <c>recurrent.*</c> cases).
/// </remarks>
internal static partial class RecurrentKernels
{
    /// <summary>Gate blocks of a cell: 1, 4 (i, f, g, o) or 3 (r, z, n).</summary>
    public static int Gates(RecurrentCell cell) => cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };

    /// <summary>
    /// One step for one row. RNN: h = act(xp + hp). LSTM: i, f, o = σ(·), g = tanh(·) of xp + hp; c = f·c₋ + i·g;
    /// h = o·tanh(c); acts = [i, f, g, o]. GRU: r, z = σ(xp + hp), n = tanh(xp_n + r·hp_n), h = (1 − z)·n + z·h₋;
    /// acts = [r, z, n] and hpn = hp_n (the backward needs it). Spans a cell does not use may be empty.
    /// </summary>
    public static void Step(RecurrentCell cell, Span<float> h, Span<float> c, Span<float> acts, Span<float> hpn,
        ReadOnlySpan<float> xp, ReadOnlySpan<float> hp, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, int hidden) =>
        Step(cell, h, c, acts, hpn, xp, hp, hPrev, cPrev, hidden, Simd.Width);

    /// <summary><see cref="Step(RecurrentCell, Span{float}, Span{float}, Span{float}, Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int)"/> at a given width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Step(RecurrentCell cell, Span<float> h, Span<float> c, Span<float> acts, Span<float> hpn,
        ReadOnlySpan<float> xp, ReadOnlySpan<float> hp, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, int hidden, SimdWidth width)
    {
        int n = hidden, gn = Gates(cell) * hidden;
        Need(h, n, nameof(h), cell);
        Need(xp, gn, nameof(xp), cell);
        Need(hp, gn, nameof(hp), cell);
        switch (cell)
        {
            case RecurrentCell.RnnTanh:
                SimdDriver.Map<AddOperator>(h[..n], xp[..n], hp[..n], width);
                SimdDriver.Map<TanhOperator>(h[..n], h[..n], width);
                break;
            case RecurrentCell.RnnRelu:
                SimdDriver.Map<BiasReluOperator>(h[..n], xp[..n], hp[..n], width);
                break;
            case RecurrentCell.Lstm:
                Need(c, n, nameof(c), cell);
                Need(acts, gn, nameof(acts), cell);
                Need(cPrev, n, nameof(cPrev), cell);
                Run<LstmStep>(new StepRow(h, c, acts, hpn, xp, hp, hPrev, cPrev, n), width);
                break;
            default:
                Need(acts, gn, nameof(acts), cell);
                Need(hpn, n, nameof(hpn), cell);
                Need(hPrev, n, nameof(hPrev), cell);
                Run<GruStep>(new StepRow(h, c, acts, hpn, xp, hp, hPrev, cPrev, n), width);
                break;
        }
    }

    /// <summary>
    /// The backward of <see cref="Step(RecurrentCell, Span{float}, Span{float}, Span{float}, Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int)"/>
    /// for one row. In: dh = ∂L/∂h (this step's output and the next step's recurrence), dc = ∂L/∂c (LSTM), the
    /// saved h, c, c₋, h₋, acts, hpn. Out: dxp and dhp, ∂L/∂ of the two pre-activations (equal except for GRU's n
    /// block, where dhp_n = dxp_n·r), and the direct parts of ∂L/∂h₋ (GRU: dh·z; the W_hh path is added by the
    /// caller) and ∂L/∂c₋ (LSTM: dc·f).
    /// </summary>
    public static void StepBackward(RecurrentCell cell, Span<float> dxp, Span<float> dhp, Span<float> dhPrevDirect, Span<float> dcPrev,
        ReadOnlySpan<float> dh, ReadOnlySpan<float> dc, ReadOnlySpan<float> h, ReadOnlySpan<float> c, ReadOnlySpan<float> cPrev,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> acts, ReadOnlySpan<float> hpn, int hidden) =>
        StepBackward(cell, dxp, dhp, dhPrevDirect, dcPrev, dh, dc, h, c, cPrev, hPrev, acts, hpn, hidden, Simd.Width);

    /// <summary><see cref="StepBackward(RecurrentCell, Span{float}, Span{float}, Span{float}, Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int)"/> at a given width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void StepBackward(RecurrentCell cell, Span<float> dxp, Span<float> dhp, Span<float> dhPrevDirect, Span<float> dcPrev,
        ReadOnlySpan<float> dh, ReadOnlySpan<float> dc, ReadOnlySpan<float> h, ReadOnlySpan<float> c, ReadOnlySpan<float> cPrev,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> acts, ReadOnlySpan<float> hpn, int hidden, SimdWidth width)
    {
        int n = hidden, gn = Gates(cell) * hidden;
        Need(dxp, gn, nameof(dxp), cell);
        Need(dhp, gn, nameof(dhp), cell);
        Need(dh, n, nameof(dh), cell);
        switch (cell)
        {
            case RecurrentCell.RnnTanh:
                Need(h, n, nameof(h), cell);
                SimdDriver.Map<TanhBackwardOperator>(dxp[..n], dh[..n], h[..n], width);
                dxp[..n].CopyTo(dhp);
                dhPrevDirect.Clear();
                break;
            case RecurrentCell.RnnRelu:
                Need(h, n, nameof(h), cell);
                SimdDriver.Map<ReluBackwardOperator>(dxp[..n], dh[..n], h[..n], width);
                dxp[..n].CopyTo(dhp);
                dhPrevDirect.Clear();
                break;
            case RecurrentCell.Lstm:
                Need(dcPrev, n, nameof(dcPrev), cell);
                Need(dc, n, nameof(dc), cell);
                Need(c, n, nameof(c), cell);
                Need(cPrev, n, nameof(cPrev), cell);
                Need(acts, gn, nameof(acts), cell);
                Run<LstmStepBackward>(new GradRow(dxp, dhp, dhPrevDirect, dcPrev, dh, dc, c, cPrev, hPrev, acts, hpn, n), width);
                dhPrevDirect.Clear();
                break;
            default:
                Need(dhPrevDirect, n, nameof(dhPrevDirect), cell);
                Need(hPrev, n, nameof(hPrev), cell);
                Need(acts, gn, nameof(acts), cell);
                Need(hpn, n, nameof(hpn), cell);
                Run<GruStepBackward>(new GradRow(dxp, dhp, dhPrevDirect, dcPrev, dh, dc, c, cPrev, hPrev, acts, hpn, n), width);
                break;
        }
    }

    // The kernels index past the spans' bounds checks, so every span a cell reads or writes is checked here once.
    private static void Need(ReadOnlySpan<float> span, int length, string name, RecurrentCell cell)
    {
        if (span.Length < length)
            throw new ArgumentException($"{name}: the {cell} step reads {length} floats, but the span has {span.Length}.", name);
    }

    /// <summary>
    /// One row of a forward step as refs to the spans' first floats, N = hidden size: element j of gate block k is at
    /// k·N + j. Refs of spans a cell does not use are null and never read.
    /// </summary>
    private readonly ref struct StepRow(Span<float> h, Span<float> c, Span<float> acts, Span<float> hpn,
        ReadOnlySpan<float> xp, ReadOnlySpan<float> hp, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, int n)
    {
        public readonly ref float H = ref MemoryMarshal.GetReference(h);
        public readonly ref float C = ref MemoryMarshal.GetReference(c);
        public readonly ref float Acts = ref MemoryMarshal.GetReference(acts);
        public readonly ref float Hpn = ref MemoryMarshal.GetReference(hpn);
        public readonly ref float Xp = ref MemoryMarshal.GetReference(xp);
        public readonly ref float Hp = ref MemoryMarshal.GetReference(hp);
        public readonly ref float HPrev = ref MemoryMarshal.GetReference(hPrev);
        public readonly ref float CPrev = ref MemoryMarshal.GetReference(cPrev);
        public readonly nuint N = (nuint)n;
    }

    /// <summary>One row of a backward step as refs, laid out as <see cref="StepRow"/>.</summary>
    private readonly ref struct GradRow(Span<float> dxp, Span<float> dhp, Span<float> dhPrevDirect, Span<float> dcPrev,
        ReadOnlySpan<float> dh, ReadOnlySpan<float> dc, ReadOnlySpan<float> c, ReadOnlySpan<float> cPrev,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> acts, ReadOnlySpan<float> hpn, int n)
    {
        public readonly ref float Dxp = ref MemoryMarshal.GetReference(dxp);
        public readonly ref float Dhp = ref MemoryMarshal.GetReference(dhp);
        public readonly ref float DhPrevDirect = ref MemoryMarshal.GetReference(dhPrevDirect);
        public readonly ref float DcPrev = ref MemoryMarshal.GetReference(dcPrev);
        public readonly ref float Dh = ref MemoryMarshal.GetReference(dh);
        public readonly ref float Dc = ref MemoryMarshal.GetReference(dc);
        public readonly ref float C = ref MemoryMarshal.GetReference(c);
        public readonly ref float CPrev = ref MemoryMarshal.GetReference(cPrev);
        public readonly ref float HPrev = ref MemoryMarshal.GetReference(hPrev);
        public readonly ref float Acts = ref MemoryMarshal.GetReference(acts);
        public readonly ref float Hpn = ref MemoryMarshal.GetReference(hpn);
        public readonly nuint N = (nuint)n;
    }

    /// <summary>
    /// A cell's forward at element j of a row, for 1, 4, 8 and 16 elements from j. Each vector method computes, lane
    /// by lane, what the scalar one does (same operations, same order), as <see cref="IUnaryOperator"/> asks.
    /// </summary>
    private interface ICellStep
    {
        static abstract void Invoke1(in StepRow r, nuint j);
        static abstract void Invoke4(in StepRow r, nuint j);
        static abstract void Invoke8(in StepRow r, nuint j);
        static abstract void Invoke16(in StepRow r, nuint j);
    }

    /// <summary>A cell's backward at element j of a row, as <see cref="ICellStep"/>.</summary>
    private interface ICellStepBackward
    {
        static abstract void Invoke1(in GradRow r, nuint j);
        static abstract void Invoke4(in GradRow r, nuint j);
        static abstract void Invoke8(in GradRow r, nuint j);
        static abstract void Invoke16(in GradRow r, nuint j);
    }

    // dxp[k] = dhp[k] = d (and the same for the vector from k): the two pre-activations' gradients, equal outside GRU's n block.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Both(in GradRow r, nuint k, float d) => Unsafe.Add(ref r.Dxp, k) = Unsafe.Add(ref r.Dhp, k) = d;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Both(in GradRow r, nuint k, Vector128<float> d)
    {
        d.StoreUnsafe(ref r.Dxp, k);
        d.StoreUnsafe(ref r.Dhp, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Both(in GradRow r, nuint k, Vector256<float> d)
    {
        d.StoreUnsafe(ref r.Dxp, k);
        d.StoreUnsafe(ref r.Dhp, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Both(in GradRow r, nuint k, Vector512<float> d)
    {
        d.StoreUnsafe(ref r.Dxp, k);
        d.StoreUnsafe(ref r.Dhp, k);
    }

    // Whole vectors of the width, then the tail in narrower vectors (8, then 4 floats), then one float at a time, as
    // SimdDriver's loops. One method per cell, not inlined into Step: the JIT inlines only so much into one method,
    // widest path first (inlined into Step, the GRU's paths were left as calls; here the 512-bit paths are whole).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Run<TCell>(in StepRow r, SimdWidth width) where TCell : struct, ICellStep
    {
        nuint n = r.N, j = 0;
        if (width >= SimdWidth.Vector512)
        {
            for (; j + 16 <= n; j += 16) TCell.Invoke16(in r, j);
        }
        if (width >= SimdWidth.Vector256)
        {
            for (; j + 8 <= n; j += 8) TCell.Invoke8(in r, j);
        }
        if (width >= SimdWidth.Vector128)
        {
            for (; j + 4 <= n; j += 4) TCell.Invoke4(in r, j);
        }
        for (; j < n; j++) TCell.Invoke1(in r, j);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Run<TCell>(in GradRow r, SimdWidth width) where TCell : struct, ICellStepBackward
    {
        nuint n = r.N, j = 0;
        if (width >= SimdWidth.Vector512)
        {
            for (; j + 16 <= n; j += 16) TCell.Invoke16(in r, j);
        }
        if (width >= SimdWidth.Vector256)
        {
            for (; j + 8 <= n; j += 8) TCell.Invoke8(in r, j);
        }
        if (width >= SimdWidth.Vector128)
        {
            for (; j + 4 <= n; j += 4) TCell.Invoke4(in r, j);
        }
        for (; j < n; j++) TCell.Invoke1(in r, j);
    }
}
