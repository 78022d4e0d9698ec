namespace Backprop.Nn;

/// <summary>
/// Softmax cross-entropy from logits Z [N, C], one fused op (PyTorch's <c>F.cross_entropy</c>), with optional class
/// weights w, label smoothing ε and an ignored target index. With U the effective target rows (below):
/// loss = −(1/D) Σᵢ Σ_c U[i,c]·log softmax(Z)[i,c]; ∂loss/∂Z[i,j] = (softmax(Z)[i,j]·Σ_c U[i,c] − U[i,j])/D
/// (= (softmax(Z) − onehot)/N in the plain case).
/// </summary>
/// <remarks>
/// <para>Targets are class indices yᵢ [N] (as floats, or as integers in an <see cref="IntTensor"/>) or probability rows T [N, C].</para>
/// <para>Effective targets: for indices U[i,c] = w_c·((1 − ε)·[c = yᵢ] + ε/C), and U[i,·] = 0 for a row whose target
/// is <see cref="IgnoreIndex"/>; for rows U[i,c] = w_c·((1 − ε)·T[i,c] + ε/C). Without weights w_c = 1.</para>
/// <para>D, by <see cref="Reduction"/>: Mean (default) divides by Σᵢ w_yᵢ over the rows not ignored for indices (the
/// row count without weights, so the plain loss is the mean over rows) and by N for probability rows, exactly as
/// PyTorch; Sum by 1; BatchMean by N. When D is 0 (every row ignored) the loss is 0 with a zero gradient, so such a
/// batch is a no-op step; PyTorch returns NaN (0/0) there.</para>
/// <para>Fusing avoids forming log(softmax) of tiny probabilities and gives the textbook gradient softmax − onehot
/// directly. <c>Fit</c>'s compiled step fuses the same loss on class indices, options included (the plain form,
/// <see cref="IsPlain"/>, through its own kernel).</para>
/// </remarks>
public sealed class CrossEntropyLoss : IClassIndexLoss
{
    private readonly float[]? weight;

    /// <summary>
    /// A cross-entropy loss with optional class <paramref name="weight"/>s (one per class, finite, ≥ 0),
    /// <paramref name="labelSmoothing"/> ε in [0, 1], a class index whose rows are ignored (PyTorch's default is −100;
    /// here no index is ignored unless one is given), and a reduction.
    /// </summary>
    public CrossEntropyLoss(IReadOnlyList<float>? weight = null, float labelSmoothing = 0f, int? ignoreIndex = null,
        LossReduction reduction = LossReduction.Mean)
    {
        this.weight = ClassTargets.CopyWeights(weight, "cross_entropy");
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing,
                $"cross_entropy: label smoothing must be a number in [0, 1] but is {labelSmoothing}.");
        LabelSmoothing = labelSmoothing;
        IgnoreIndex = ignoreIndex;
        Reduction = LossTerms.Check(reduction, "cross_entropy");
    }

    /// <summary>The class weights (a copy), or null when every class weighs 1.</summary>
    public IReadOnlyList<float>? Weight => weight;

    /// <summary>The class weights as the compiled step's kernel reads them (never written), or null.</summary>
    internal float[]? WeightArray => weight;

    /// <summary>ε: the share of each target's mass spread evenly over all classes.</summary>
    public float LabelSmoothing { get; }

    /// <summary>The class-index target whose rows are left out of the loss, or null for none.</summary>
    public int? IgnoreIndex { get; }

    /// <summary>How the row terms are reduced.</summary>
    public LossReduction Reduction { get; }

    /// <summary>True without weights, smoothing or an ignored index and with the mean: PyTorch's default cross-entropy.</summary>
    public bool IsPlain => weight is null && LabelSmoothing == 0f && IgnoreIndex is null && Reduction == LossReduction.Mean;

    /// <inheritdoc/>
    public string Name => "cross_entropy";

    /// <inheritdoc/>
    public Tensor Compute(Tensor prediction, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        if (prediction.Rank != 2)
            throw new ShapeMismatchException($"cross_entropy: expected logits [N, C] but got {Shapes.Format(prediction.dims)}.");
        int n = prediction.dims[0], c = prediction.dims[1];
        ClassTargets.RequireWeightsFor(weight, c, Name);
        var (u, divisor) = TargetRows(target, n, c);
        return Fused(prediction, target, u, divisor);
    }

    /// <summary>The loss for class indices held as integers (exact at any size); the same value and gradient as for float indices.</summary>
    public Tensor Compute(Tensor prediction, IntTensor target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        if (prediction.Rank != 2)
            throw new ShapeMismatchException($"cross_entropy: expected logits [N, C] but got {Shapes.Format(prediction.dims)}.");
        int n = prediction.dims[0], c = prediction.dims[1];
        if (target.Rank != 1 || target.dims[0] != n)
            throw new ShapeMismatchException($"cross_entropy: logits {Shapes.Format(prediction.dims)} need class indices [{n}] but got {Shapes.Format(target.dims)}.");
        ClassTargets.RequireWeightsFor(weight, c, Name);
        var (u, divisor) = IndexRows(null, target, n, c);
        return Fused(prediction, null, u, divisor);
    }

    // The fused op over effective target rows U [N, C] and divisor D; target (float targets only) gets ∂/∂T when it is rows.
    private Tensor Fused(Tensor prediction, Tensor? target, float[] u, double divisor)
    {
        int n = prediction.dims[0], c = prediction.dims[1];
        var logSoftmax = TensorArena.Floats(n * c);   // rented for the step inside Fit; the node holds it until backward
        var rows = new RowsJob(prediction.data, logSoftmax, u, null, n, c, 0f, Parts(n, c));
        Kernels.GemmWorkers.Run(rows.Parts, in rows);
        // The loss in one running double sum in (row, class) order, on this thread: the same value for any split.
        double total = 0;
        for (int k = 0; k < n * c; k++) total -= u[k] * (double)logSoftmax[k];
        var loss = Tensor.ScalarResult(divisor == 0 ? 0f : (float)(total / divisor));
        if (loss.Record("cross_entropy", FusedBackward, prediction, target, saves: target is { Rank: 2 } ? Tensor.Saves.Input1 : Tensor.Saves.None) is { } node)
        {
            (node.I0, node.I1, node.F0, node.State) = (n, c, (float)divisor, this);
            (node.Buffer0, node.Buffer1) = (logSoftmax, u);
        }
        return loss;
    }

    // Inputs Z [N, C] and, for float targets, T; log softmax(Z) in Buffer0, U in Buffer1, D in F0, the loss in State.
    private static readonly GradNode.StaticBackward FusedBackward = static (node, g) =>
    {
        var prediction = node.Inputs[0];
        var target = node.Inputs.Length > 1 ? node.Inputs[1] : null;
        var self = (CrossEntropyLoss)node.State!;
        int n = node.I0, c = node.I1;
        float divisor = node.F0;
        var (logSoftmax, u) = (node.Buffer0!, node.Buffer1!);
        float scale = divisor == 0 ? 0f : g.data[0] / divisor;
        if (prediction.RequiresGrad)
        {
            var dz = Tensor.Empty(prediction.dims);
            var rows = new RowsJob(null, logSoftmax, u, dz.data, n, c, scale, Parts(n, c));
            Kernels.GemmWorkers.Run(rows.Parts, in rows);
            prediction.AccumulateOwnedGrad(dz);
        }
        if (target is { RequiresGrad: true, Rank: 2 })
        {
            var dt = Tensor.Empty(target.dims);   // ∂/∂T[i,c] = −(1 − ε)·w_c·log softmax(Z)[i,c]/D
            float kept = 1f - self.LabelSmoothing;
            for (int k = 0; k < dt.data.Length; k++) dt.data[k] = -scale * kept * (self.weight?[k % c] ?? 1f) * logSoftmax[k];
            target.AccumulateOwnedGrad(dt);
        }
    };

    // Logits of at least this many values split their rows over the cores (an exp and a log per value: a character
    // model's [768, 113] took about a millisecond of one core per step, forward and backward).
    private const int ParallelMinValues = 1 << 13;

    private static int Parts(int n, int c) => (long)n * c >= ParallelMinValues ? Math.Clamp(Kernels.Gemm.MaxThreads, 1, n) : 1;

    // Rows [r0, r1) of part `part`: forward (Z given) writes log softmax(Z); backward (dZ given) writes
    // dZ[i,j] = scale·(softmax(Z)[i,j]·Σ_c U[i,c] − U[i,j]). Each row is computed as it would be alone.
    private readonly struct RowsJob(float[]? z, float[] logSoftmax, float[] u, float[]? dz, int n, int c, float scale, int parts) : Kernels.IPartJob
    {
        public int Parts => parts;

        public void Run(int part)
        {
            var (r0, r1) = Kernels.PartRange.Of(n, parts, part);
            for (int i = r0; i < r1; i++)
            {
                if (z is not null) LogSoftmaxRow(z.AsSpan(i * c, c), logSoftmax.AsSpan(i * c, c));
                else GradientRow(dz.AsSpan(i * c, c), logSoftmax.AsSpan(i * c, c), u.AsSpan(i * c, c), scale);
            }
        }
    }

    // ls = z − (max + log Σ exp(z − max)), the sum in double.
    private static void LogSoftmaxRow(ReadOnlySpan<float> z, Span<float> ls)
    {
        float max = System.Numerics.Tensors.TensorPrimitives.Max(z);
        double sumExp = 0;
        for (int j = 0; j < z.Length; j++) sumExp += Math.Exp(z[j] - max);
        float logSum = max + (float)Math.Log(sumExp);
        for (int j = 0; j < z.Length; j++) ls[j] = z[j] - logSum;
    }

    // dz = scale·(exp(ls)·Σu − u) for one row.
    private static void GradientRow(Span<float> dz, ReadOnlySpan<float> ls, ReadOnlySpan<float> u, float scale)
    {
        float rowMass = 0f;
        for (int j = 0; j < u.Length; j++) rowMass += u[j];
        for (int j = 0; j < u.Length; j++) dz[j] = scale * (MathF.Exp(ls[j]) * rowMass - u[j]);
    }

    /// <summary>
    /// The effective target rows U [N, C] (one-hot rows of class indices, or the given rows, with weights and
    /// smoothing folded in; the given rows themselves when there is nothing to fold) and the divisor D.
    /// </summary>
    private (float[] Rows, double Divisor) TargetRows(Tensor target, int n, int c)
    {
        float kept = 1f - LabelSmoothing, spread = LabelSmoothing / c;
        if (target.Rank == 1 && target.dims[0] == n)
            return IndexRows(target, null, n, c);
        if (target.Rank == 2 && target.dims[0] == n && target.dims[1] == c)
        {
            if (IgnoreIndex is { } ignored)
                throw new ArgumentException(
                    $"cross_entropy: ignore_index {ignored} applies to class-index targets [{n}], but the targets are probability rows {Shapes.Format(target.dims)}.");
            double divisor = LossTerms.Divisor(Reduction, n, n);
            if (weight is null && spread == 0f) return (target.data, divisor);
            var u = TensorArena.Floats(n * c);
            for (int k = 0; k < u.Length; k++) u[k] = (weight?[k % c] ?? 1f) * (kept * target.data[k] + spread);
            return (u, divisor);
        }
        throw new ShapeMismatchException(
            $"cross_entropy: logits {Shapes.Format([n, c])} need targets [{n}] (class indices) or [{n},{c}] (one-hot) but got {Shapes.Format(target.dims)}.");
    }

    /// <summary>U [N, C] and D for class indices (floats or integers): −1 for an ignored row.</summary>
    private (float[] Rows, double Divisor) IndexRows(Tensor? floats, IntTensor? ints, int n, int c)
    {
        float kept = 1f - LabelSmoothing, spread = LabelSmoothing / c;
        var u = TensorArena.Floats(n * c);
        double mass = 0;
        for (int i = 0; i < n; i++)
        {
            int k = floats is not null ? ClassTargets.ClassOf(floats, i, c, IgnoreIndex, Name) : ClassTargets.ClassOf(ints!, i, c, IgnoreIndex, Name);
            if (k < 0) continue;
            var row = u.AsSpan(i * c, c);
            if (spread != 0f)
                for (int j = 0; j < c; j++) row[j] = (weight?[j] ?? 1f) * spread;
            row[k] += (weight?[k] ?? 1f) * kept;
            mass += weight?[k] ?? 1f;
        }
        return (u, LossTerms.Divisor(Reduction, mass, n));
    }
}
