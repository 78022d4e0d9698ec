using System.Numerics.Tensors;
using Backprop.Kernels;

namespace Backprop;

// Scaled dot-product self-attention as one fused op over the packed projection q|k|v, so that neither the split
// into heads nor the [B, H, T, T] scores, mask and softmax become graph nodes of their own. It saves only the
// attention probabilities (and the dropout mask), the same as PyTorch's math path keeps.
public sealed partial class Tensor
{
    /// <summary>
    /// Multi-head scaled dot-product attention of a packed projection <paramref name="qkv"/> [B, T, 3·D]: columns
    /// [0, D) are the queries, [D, 2D) the keys, [2D, 3D) the values, head h owning columns h·d … (h+1)·d − 1 of each
    /// (d = D / heads, PyTorch's layout). Per batch entry and head, <c>P = softmax(Q·Kᵀ/√d)</c> with, when
    /// <paramref name="causal"/>, position i attending only to j ≤ i; then P is dropped out with probability
    /// <paramref name="dropout"/> (scaled by 1/(1 − p), drawn from <paramref name="rng"/>) and O = P·V. Returns the heads
    /// side by side, [B, T, D].
    /// </summary>
    /// <remarks>
    /// Backward, with P' = P ⊙ M (M the dropout mask): ∂V = P'ᵀ·∂O; ∂P = (∂O·Vᵀ) ⊙ M;
    /// ∂S = P ⊙ (∂P − rowsum(∂P ⊙ P)); ∂Q = ∂S·K/√d; ∂K = ∂Sᵀ·Q/√d.
    /// </remarks>
    /// <exception cref="ShapeMismatchException">qkv is not [B, T, 3·D] with D divisible by <paramref name="heads"/>.</exception>
    public static Tensor SelfAttention(Tensor qkv, int heads, bool causal = false, float dropout = 0f, Rng? rng = null)
    {
        ArgumentNullException.ThrowIfNull(qkv);
        if (heads < 1) throw new ArgumentOutOfRangeException(nameof(heads), heads, $"attention expected at least 1 head but got {heads}.");
        if (qkv.Rank != 3 || qkv.dims[2] % (3 * heads) != 0)
            throw new ShapeMismatchException($"attention expected packed q|k|v [B, T, 3·D] with D divisible by {heads} heads but got {Shapes.Format(qkv.dims)}.");
        if (!(dropout >= 0f && dropout < 1f))
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, $"attention dropout must be in [0, 1) but got {dropout}.");
        if (dropout > 0f && rng is null) throw new ArgumentNullException(nameof(rng), "attention with dropout needs a generator.");
        int b = qkv.dims[0], t = qkv.dims[1], dim = qkv.dims[2] / 3, d = dim / heads, tt = t * t, pairs = b * heads;
        int parts = AttentionParts(pairs, t, d);

        // Written in full before they are read (every P entry, masked ones as 0; every mask entry; every scratch block),
        // so none is zeroed first.
        var probs = TensorArena.UninitializedFloats(pairs * tt);   // P per (batch, head): the backward's only saved activation
        var mask = dropout > 0f ? TensorArena.UninitializedFloats(pairs * tt) : [];
        if (dropout > 0f) DrawDropoutMask(mask, dropout, rng!);
        var y = Uninitialized(Shapes.WithLast(qkv.dims, dim));
        var shape = new AttentionShape(b, t, heads, d, causal, parts);
        // Each part owns its scratch: q, k, v, o [T, d] and, with dropout, P' [T, T].
        var scratch = TensorArena.UninitializedFloats(parts * shape.ForwardScratch(dropout > 0f));
        GemmWorkers.Run(parts, new AttentionForward(shape, qkv.data, probs, mask, scratch, y.data));
        if (y.Record("attention", AttentionBackward, qkv, saves: Saves.Input0) is { } node)
        {
            (node.I0, node.I1, node.I2, node.F0) = (heads, causal ? 1 : 0, parts, dropout);
            (node.Buffer0, node.Buffer1) = (probs, mask);
        }
        return y;
    }

    // Input qkv [B, T, 3·D]; P in Buffer0 and the dropout mask (empty without dropout) in Buffer1.
    private static readonly GradNode.StaticBackward AttentionBackward = static (node, g) =>
    {
        var qkv = node.Inputs[0];
        int b = qkv.dims[0], t = qkv.dims[1], heads = node.I0, d = qkv.dims[2] / 3 / heads;
        var shape = new AttentionShape(b, t, heads, d, node.I1 != 0, node.I2);
        bool dropout = node.F0 > 0f;
        var dqkv = Uninitialized(qkv.dims);   // every element is one head's ∂Q, ∂K or ∂V, copied in by exactly one pair
        // Per part: q, k, v, ∂O, ∂Q, ∂K, ∂V [T, d], ∂P [T, T] and, with dropout, P' [T, T]; each written before read.
        var scratch = TensorArena.UninitializedFloats(shape.Parts * shape.BackwardScratch(dropout));
        GemmWorkers.Run(shape.Parts, new AttentionBackwardJob(shape, qkv.data, node.Buffer0!, node.Buffer1!, g.data, scratch, dqkv.data));
        qkv.AccumulateOwnedGrad(dqkv);
    };

    // Sizes of one attention call: B, T, H heads of d, and how its B·H pairs split into parts.
    private readonly record struct AttentionShape(int B, int T, int Heads, int D, bool Causal, int Parts)
    {
        // The 1/√d of S = Q·Kᵀ/√d.
        public float Scale { get; } = 1f / MathF.Sqrt(D);

        public int Dim => Heads * D;

        public int Pairs => B * Heads;

        public int ForwardScratch(bool dropout) => 4 * T * D + (dropout ? T * T : 0);

        public int BackwardScratch(bool dropout) => 7 * T * D + T * T + (dropout ? T * T : 0);

        // Part `part`'s own `size` floats of the shared scratch.
        public Span<float> PartScratch(float[] scratch, int part, int size) => scratch.AsSpan(part * size, size);

        // Block i of T·d floats of a part's scratch.
        public Span<float> Block(Span<float> own, int i) => own.Slice(i * T * D, T * D);

        // Head h of batch entry n: its q, k, v [T, d] from qkv [B, T, 3·D] into blocks 0, 1, 2.
        public void GatherQkv(Span<float> own, float[] qkv, int n, int h)
        {
            for (int which = 0; which < 3; which++) GatherHead(Block(own, which), qkv, n, T, 3 * Dim, which * Dim + h * D, D);
        }
    }

    // Y [B, T, D] and P [B·H, T, T] from qkv, one range of (batch entry, head) pairs per part.
    private readonly struct AttentionForward(AttentionShape s, float[] qkv, float[] probs, float[] mask, float[] scratch, float[] y) : IPartJob
    {
        public void Run(int part)
        {
            int t = s.T, d = s.D, dim = s.Dim, tt = t * t, heads = s.Heads;
            bool dropout = mask.Length > 0;
            // Blocks of T·d: q, k, v, o; then P' [T, T].
            var own = s.PartScratch(scratch, part, s.ForwardScratch(dropout));
            Span<float> q = s.Block(own, 0), k = s.Block(own, 1), v = s.Block(own, 2), o = s.Block(own, 3);
            var pd = own[(4 * t * d)..];
            var (first, last) = PartRange.Of(s.Pairs, s.Parts, part);
            for (int pair = first; pair < last; pair++)
            {
                int n = pair / heads, h = pair % heads, at = pair * tt;
                var p = probs.AsSpan(at, tt);
                s.GatherQkv(own, qkv, n, h);
                Gemm.Multiply(p, q, k, t, t, d, transB: true);   // S[T, T] = Q·Kᵀ
                for (int i = 0; i < t; i++) SoftmaxRow(p.Slice(i * t, t), s.Causal ? i + 1 : t, s.Scale);
                if (dropout)
                {
                    TensorPrimitives.Multiply(p, mask.AsSpan(at, tt), pd);
                    Gemm.Multiply(o, pd, v, t, d, t);
                }
                else Gemm.Multiply(o, p, v, t, d, t);
                ScatterHead(y, o, n, t, dim, h * d, d);
            }
        }
    }

    // ∂qkv from ∂Y and the saved P; each (batch entry, head) owns its rows and columns of ∂qkv, so parts never
    // write the same element.
    private readonly struct AttentionBackwardJob(AttentionShape s, float[] qkv, float[] probs, float[] mask, float[] g, float[] scratch, float[] dqkv) : IPartJob
    {
        public void Run(int part)
        {
            int t = s.T, d = s.D, dim = s.Dim, tt = t * t, heads = s.Heads;
            bool dropout = mask.Length > 0;
            // Blocks of T·d: q, k, v, ∂O, ∂Q, ∂K, ∂V; then ∂P [T, T] and P' [T, T].
            var own = s.PartScratch(scratch, part, s.BackwardScratch(dropout));
            Span<float> q = s.Block(own, 0), k = s.Block(own, 1), v = s.Block(own, 2);
            Span<float> dOut = s.Block(own, 3), dq = s.Block(own, 4), dk = s.Block(own, 5), dv = s.Block(own, 6);
            var dp = own.Slice(7 * t * d, tt);
            var pw = own[(7 * t * d + tt)..];
            var (first, last) = PartRange.Of(s.Pairs, s.Parts, part);
            for (int pair = first; pair < last; pair++)
            {
                int n = pair / heads, h = pair % heads, at = pair * tt;
                var p = probs.AsSpan(at, tt);
                s.GatherQkv(own, qkv, n, h);
                GatherHead(dOut, g, n, t, dim, h * d, d);
                if (dropout) TensorPrimitives.Multiply(p, mask.AsSpan(at, tt), pw);
                Gemm.Multiply(dv, dropout ? pw : p, dOut, t, d, t, transA: true);   // ∂V = P'ᵀ·∂O
                Gemm.Multiply(dp, dOut, v, t, t, d, transB: true);                 // ∂P' = ∂O·Vᵀ
                if (dropout) TensorPrimitives.Multiply(dp, mask.AsSpan(at, tt), dp);
                for (int i = 0; i < t; i++)
                {
                    // ∂S = P ⊙ (∂P − Σ_j ∂P·P), then the 1/√d of S = Q·Kᵀ/√d
                    var pr = p.Slice(i * t, t);
                    var dr = dp.Slice(i * t, t);
                    float dot = TensorPrimitives.Dot(pr, dr);
                    TensorPrimitives.Subtract(dr, dot, dr);
                    TensorPrimitives.Multiply(dr, pr, dr);
                    TensorPrimitives.Multiply(dr, s.Scale, dr);
                }
                Gemm.Multiply(dq, dp, k, t, d, t);                 // ∂Q = ∂S·K
                Gemm.Multiply(dk, dp, q, t, d, t, transA: true);   // ∂K = ∂Sᵀ·Q
                ScatterHead(dqkv, dq, n, t, 3 * dim, h * d, d);
                ScatterHead(dqkv, dk, n, t, 3 * dim, dim + h * d, d);
                ScatterHead(dqkv, dv, n, t, 3 * dim, 2 * dim + h * d, d);
            }
        }
    }

    // How many parts the B·H (batch entry, head) pairs split into: one per core, when the pairs are enough work
    // (about 64k multiply-adds of Q·Kᵀ in all) to pay for waking the workers. Each pair is computed the same way on
    // whichever thread runs it, so the result does not depend on the split.
    private static int AttentionParts(int pairs, int t, int d) =>
        (long)pairs * t * t * d >= 1 << 16 ? Math.Clamp(Gemm.MaxThreads, 1, pairs) : 1;

    // Columns [col, col + d) of rows n·T … n·T + T − 1 of a [B·T, width] matrix into dst [T, d].
    private static void GatherHead(Span<float> dst, ReadOnlySpan<float> src, int n, int t, int width, int col, int d)
    {
        for (int i = 0; i < t; i++) src.Slice((n * t + i) * width + col, d).CopyTo(dst.Slice(i * d, d));
    }

    // The reverse of GatherHead: src [T, d] into the columns of dst.
    private static void ScatterHead(Span<float> dst, ReadOnlySpan<float> src, int n, int t, int width, int col, int d)
    {
        for (int i = 0; i < t; i++) src.Slice(i * d, d).CopyTo(dst.Slice((n * t + i) * width + col, d));
    }

    // row ← softmax(scale·row) over its first `valid` entries; the rest (masked future positions) become 0.
    private static void SoftmaxRow(Span<float> row, int valid, float scale)
    {
        var live = row[..valid];
        TensorPrimitives.Multiply(live, scale, live);
        float max = TensorPrimitives.Max(live);
        TensorPrimitives.Subtract(live, max, live);
        TensorPrimitives.Exp(live, live);
        TensorPrimitives.Multiply(live, 1f / TensorPrimitives.Sum(live), live);
        row[valid..].Clear();
    }
}
