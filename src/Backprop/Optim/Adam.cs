using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Backprop.Kernels;

namespace Backprop.Optim;

/// <summary>
/// Adam (Kingma &amp; Ba, 2015), PyTorch's formulation: g ← ∇W + λ·W; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// W ← W − α·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε).
/// </summary>
/// <remarks><see cref="AdamW"/> derives from it: the same moments and step, with the decay applied to W instead.</remarks>
public class Adam : Optimizer
{
    /// <summary>First and second moment estimates, one array per parameter.</summary>
    private protected readonly float[][] m, v;

    /// <summary>Creates Adam with learning rate α, moment decay rates β₁ and β₂, ε and L2 weight decay λ.</summary>
    [OverloadResolutionPriority(1)]   // an empty collection expression means no tensors, not no groups
    public Adam(IEnumerable<Tensor> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0f)
        : base(parameters, lr, weightDecay)
    {
        (Beta1, Beta2, Epsilon, WeightDecay) = (Beta(beta1, 1), Beta(beta2, 2), Eps(eps), weightDecay);
        (groupBeta1, groupBeta2) = GroupBetas();
        m = [.. Parameters.Select(p => new float[p.Size])];
        v = [.. Parameters.Select(p => new float[p.Size])];
    }

    /// <summary>
    /// Creates Adam over parameter <paramref name="groups"/>: each group's α, λ, β₁ and β₂ where it sets them, these
    /// arguments where it does not (PyTorch's <c>Adam([{"params": ..., "lr": ...}, ...], lr=...)</c>).
    /// </summary>
    public Adam(IEnumerable<ParameterGroup> groups, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0f)
        : base(groups, lr, weightDecay)
    {
        (Beta1, Beta2, Epsilon, WeightDecay) = (Beta(beta1, 1), Beta(beta2, 2), Eps(eps), weightDecay);
        (groupBeta1, groupBeta2) = GroupBetas();
        m = [.. Parameters.Select(p => new float[p.Size])];
        v = [.. Parameters.Select(p => new float[p.Size])];
    }

    // β₁ and β₂ of each group.
    private protected readonly float[] groupBeta1, groupBeta2;

    private (float[], float[]) GroupBetas()
    {
        var b1 = new float[Groups.Count];
        var b2 = new float[Groups.Count];
        foreach (var g in Groups)
        {
            b1[g.Index] = Beta(g.Settings?.Beta1 ?? Beta1, 1, g.Index);
            b2[g.Index] = Beta(g.Settings?.Beta2 ?? Beta2, 2, g.Index);
        }
        return (b1, b2);
    }

    private float Beta(float beta, int which, int? group = null) => beta is >= 0f and < 1f ? beta
        : throw new ArgumentOutOfRangeException($"beta{which}", beta,
            $"{(group is { } g ? $"parameter group {g}: " : "")}{Name} β{(which == 1 ? "₁" : "₂")} must be in [0, 1) but is {Show(beta)}; {(which == 1 ? "0.9" : "0.999")} is usual.");

    private float Eps(float eps) => eps > 0f && !float.IsInfinity(eps) ? eps
        : throw new ArgumentOutOfRangeException(nameof(eps), eps, $"{Name} ε must be a positive finite number but is {Show(eps)}.");

    /// <summary>β₁, decay of the first moment (for groups that set none).</summary>
    public float Beta1 { get; }

    /// <summary>β₂, decay of the second moment (for groups that set none).</summary>
    public float Beta2 { get; }

    /// <summary>ε, added to the denominator.</summary>
    public float Epsilon { get; }

    /// <summary>
    /// λ for groups that set none (see <see cref="OptimizerGroup.WeightDecay"/>): for Adam the L2 penalty added to
    /// the gradient; for AdamW the decoupled decay of W.
    /// </summary>
    public float WeightDecay { get; }

    /// <inheritdoc/>
    public override string Name => "adam";

    /// <inheritdoc/>
    protected override void Update(int index, int offset, Span<float> w, ReadOnlySpan<float> grad)
    {
        var g = GroupOf(index);
        Apply(w, grad, m[index].AsSpan(offset), v[index].AsSpan(offset), g.LearningRate, groupBeta1[g.Index], groupBeta2[g.Index],
            Epsilon, g.WeightDecay, StepCount);
    }

    /// <inheritdoc/>
    protected override bool UpdatesElementwise => true;

    /// <summary>
    /// One Adam update of <paramref name="w"/> in place at step t (1-based), with L2 penalty <paramref name="l2"/>
    /// added to the gradient; shared with <see cref="AdamW"/>, which passes l2 = 0 and decays W itself.
    /// </summary>
    internal static void Apply(Span<float> w, ReadOnlySpan<float> grad, Span<float> m, Span<float> v, float lr,
        float b1, float b2, float eps, float l2, long t) =>
        Apply(w, grad, m, v, lr, b1, b2, eps, l2, t, Simd.Width);

    /// <summary>
    /// <see cref="Apply(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float, float, float, float, float, long)"/>
    /// at a given width. Every width runs the scalar loop's operations in the same order (separate multiply and add,
    /// IEEE sqrt and division) on whole vectors, narrower vectors for the tail, then single floats, so every width
    /// gives bit-identical weights and moments.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Apply(Span<float> w, ReadOnlySpan<float> grad, Span<float> m, Span<float> v, float lr,
        float b1, float b2, float eps, float l2, long t, SimdWidth width)
    {
        var mi = m[..w.Length];
        var vi = v[..w.Length];
        grad = grad[..w.Length];
        float bias1 = 1f - MathF.Pow(b1, t), bias2 = 1f - MathF.Pow(b2, t);
        float stepSize = lr / bias1;
        float invSqrtBias2 = 1f / MathF.Sqrt(bias2);
        var c = new AdamConstants(b1, 1f - b1, b2, 1f - b2, l2, stepSize, invSqrtBias2, eps);
        ref float wr = ref MemoryMarshal.GetReference(w);
        ref float gr = ref MemoryMarshal.GetReference(grad);
        ref float mr = ref MemoryMarshal.GetReference(mi);
        ref float vr = ref MemoryMarshal.GetReference(vi);
        int i = 0, n = w.Length;
        if (width >= SimdWidth.Vector512) i = Apply512(ref wr, ref gr, ref mr, ref vr, i, n, c);
        if (width >= SimdWidth.Vector256) i = Apply256(ref wr, ref gr, ref mr, ref vr, i, n, c);
        if (width >= SimdWidth.Vector128) i = Apply128(ref wr, ref gr, ref mr, ref vr, i, n, c);
        for (; i < n; i++)
        {
            float g = grad[i] + l2 * w[i];
            mi[i] = b1 * mi[i] + (1f - b1) * g;
            vi[i] = b2 * vi[i] + (1f - b2) * g * g;
            w[i] -= stepSize * mi[i] / (MathF.Sqrt(vi[i]) * invSqrtBias2 + eps);
        }
    }

    // The step's scalars, broadcast once per call by each vector path.
    private readonly record struct AdamConstants(float B1, float OneMinusB1, float B2, float OneMinusB2, float L2,
        float StepSize, float InvSqrtBias2, float Eps);

    // Elements [i, n) in whole Vector512s; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Apply512(ref float wr, ref float gr, ref float mr, ref float vr, int i, int n, in AdamConstants c)
    {
        var vb1 = Vector512.Create(c.B1); var vc1 = Vector512.Create(c.OneMinusB1);
        var vb2 = Vector512.Create(c.B2); var vc2 = Vector512.Create(c.OneMinusB2);
        var vl2 = Vector512.Create(c.L2); var vstep = Vector512.Create(c.StepSize);
        var vinv = Vector512.Create(c.InvSqrtBias2); var veps = Vector512.Create(c.Eps);
        for (; i + 16 <= n; i += 16)
        {
            var wi = Vector512.LoadUnsafe(ref wr, (nuint)i);
            var g = Vector512.LoadUnsafe(ref gr, (nuint)i) + vl2 * wi;
            var mNew = vb1 * Vector512.LoadUnsafe(ref mr, (nuint)i) + vc1 * g;
            var vNew = vb2 * Vector512.LoadUnsafe(ref vr, (nuint)i) + vc2 * g * g;
            mNew.StoreUnsafe(ref mr, (nuint)i);
            vNew.StoreUnsafe(ref vr, (nuint)i);
            (wi - vstep * mNew / (Vector512.Sqrt(vNew) * vinv + veps)).StoreUnsafe(ref wr, (nuint)i);
        }
        return i;
    }

    // Elements [i, n) in whole Vector256s; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Apply256(ref float wr, ref float gr, ref float mr, ref float vr, int i, int n, in AdamConstants c)
    {
        var vb1 = Vector256.Create(c.B1); var vc1 = Vector256.Create(c.OneMinusB1);
        var vb2 = Vector256.Create(c.B2); var vc2 = Vector256.Create(c.OneMinusB2);
        var vl2 = Vector256.Create(c.L2); var vstep = Vector256.Create(c.StepSize);
        var vinv = Vector256.Create(c.InvSqrtBias2); var veps = Vector256.Create(c.Eps);
        for (; i + 8 <= n; i += 8)
        {
            var wi = Vector256.LoadUnsafe(ref wr, (nuint)i);
            var g = Vector256.LoadUnsafe(ref gr, (nuint)i) + vl2 * wi;
            var mNew = vb1 * Vector256.LoadUnsafe(ref mr, (nuint)i) + vc1 * g;
            var vNew = vb2 * Vector256.LoadUnsafe(ref vr, (nuint)i) + vc2 * g * g;
            mNew.StoreUnsafe(ref mr, (nuint)i);
            vNew.StoreUnsafe(ref vr, (nuint)i);
            (wi - vstep * mNew / (Vector256.Sqrt(vNew) * vinv + veps)).StoreUnsafe(ref wr, (nuint)i);
        }
        return i;
    }

    // Elements [i, n) in whole Vector128s; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Apply128(ref float wr, ref float gr, ref float mr, ref float vr, int i, int n, in AdamConstants c)
    {
        var vb1 = Vector128.Create(c.B1); var vc1 = Vector128.Create(c.OneMinusB1);
        var vb2 = Vector128.Create(c.B2); var vc2 = Vector128.Create(c.OneMinusB2);
        var vl2 = Vector128.Create(c.L2); var vstep = Vector128.Create(c.StepSize);
        var vinv = Vector128.Create(c.InvSqrtBias2); var veps = Vector128.Create(c.Eps);
        for (; i + 4 <= n; i += 4)
        {
            var wi = Vector128.LoadUnsafe(ref wr, (nuint)i);
            var g = Vector128.LoadUnsafe(ref gr, (nuint)i) + vl2 * wi;
            var mNew = vb1 * Vector128.LoadUnsafe(ref mr, (nuint)i) + vc1 * g;
            var vNew = vb2 * Vector128.LoadUnsafe(ref vr, (nuint)i) + vc2 * g * g;
            mNew.StoreUnsafe(ref mr, (nuint)i);
            vNew.StoreUnsafe(ref vr, (nuint)i);
            (wi - vstep * mNew / (Vector128.Sqrt(vNew) * vinv + veps)).StoreUnsafe(ref wr, (nuint)i);
        }
        return i;
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Tensor State)> OwnState() => MomentState(m, v);

    /// <inheritdoc/>
    protected override void LoadOwnState(IReadOnlyDictionary<string, Tensor> state) => LoadMoments(state, m, v);

    /// <summary>The moments as checkpoint tensors <c>m.{i}</c>, <c>v.{i}</c> (i = parameter index).</summary>
    internal static IEnumerable<(string Name, Tensor State)> MomentState(float[][] m, float[][] v)
    {
        for (int i = 0; i < m.Length; i++) yield return ($"m.{i}", Tensor.FromArray(m[i]));
        for (int i = 0; i < v.Length; i++) yield return ($"v.{i}", Tensor.FromArray(v[i]));
    }

    /// <summary>Copies <c>m.{i}</c> and <c>v.{i}</c> back, every one required with its parameter's size.</summary>
    internal static void LoadMoments(IReadOnlyDictionary<string, Tensor> state, float[][] m, float[][] v)
    {
        for (int i = 0; i < m.Length; i++)
        {
            Required(state, $"m.{i}", m[i].Length).AsSpan().CopyTo(m[i]);
            Required(state, $"v.{i}", v[i].Length).AsSpan().CopyTo(v[i]);
        }
    }
}
