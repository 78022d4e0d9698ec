using System.Runtime.CompilerServices;
using Backprop.Kernels;

namespace Backprop.Optim;

/// <summary>
/// Stochastic gradient descent, PyTorch's formulation:
/// g ← ∇W + λ·W (weight decay); v ← μ·v + g (momentum, v₀ = g); step = g + μ·v (Nesterov) or v; W ← W − α·step.
/// With μ = 0 and λ = 0 this is the seeds' <c>W := W − α·∂E/∂W</c>.
/// </summary>
public sealed class Sgd : Optimizer
{
    private readonly float[]?[] velocity;
    private readonly float[]?[] scratch;

    /// <summary>Creates SGD with learning rate α, momentum μ, optional Nesterov momentum and L2 weight decay λ.</summary>
    [OverloadResolutionPriority(1)]   // an empty collection expression means no tensors, not no groups
    public Sgd(IEnumerable<Tensor> parameters, float lr = 0.01f, float momentum = 0f, bool nesterov = false, float weightDecay = 0f)
        : base(parameters, lr, weightDecay)
    {
        (Momentum, Nesterov, WeightDecay) = (momentum, nesterov, weightDecay);
        groupMomentum = GroupMomenta();
        (velocity, scratch) = Buffers();
    }

    /// <summary>
    /// Creates SGD over parameter <paramref name="groups"/>: each group's α, λ and μ where it sets them, these
    /// arguments where it does not (PyTorch's <c>SGD([{"params": ..., "lr": ...}, ...], lr=...)</c>).
    /// </summary>
    public Sgd(IEnumerable<ParameterGroup> groups, float lr = 0.01f, float momentum = 0f, bool nesterov = false, float weightDecay = 0f)
        : base(groups, lr, weightDecay)
    {
        (Momentum, Nesterov, WeightDecay) = (momentum, nesterov, weightDecay);
        groupMomentum = GroupMomenta();
        (velocity, scratch) = Buffers();
    }

    // Each parameter's velocity (where its group has momentum) and scratch for its effective gradient (where the
    // group has momentum or weight decay), made whole at the start: a step of any slice of a parameter, on any thread,
    // finds them there, and a sharded step's ranks all hold every velocity. A velocity of zeros is PyTorch's v₀ = g:
    // μ·0 + g = g.
    private (float[]?[] Velocity, float[]?[] Scratch) Buffers()
    {
        var v = new float[]?[Parameters.Count];
        var g = new float[]?[Parameters.Count];
        for (int i = 0; i < Parameters.Count; i++)
        {
            var group = GroupOf(i);
            bool moving = groupMomentum[group.Index] != 0f;
            if (moving) v[i] = new float[Parameters[i].Size];
            if (moving || group.WeightDecay != 0f) g[i] = new float[Parameters[i].Size];
        }
        return (v, g);
    }

    // μ of each group.
    private readonly float[] groupMomentum;

    private float[] GroupMomenta()
    {
        var mu = new float[Groups.Count];
        foreach (var g in Groups)
        {
            string where = g.Settings is null ? "" : $"parameter group {g.Index}: ";
            mu[g.Index] = g.Settings?.Momentum ?? Momentum;
            // μ ≥ 1 makes the velocity a growing sum of past gradients (μ = 5 multiplies it by 5 every step): it diverges.
            if (!(mu[g.Index] >= 0f && mu[g.Index] < 1f))
                throw new ArgumentOutOfRangeException("momentum", mu[g.Index], $"{where}SGD momentum must be in [0, 1) but is {Show(mu[g.Index])}; 0.9 is usual.");
            if (Nesterov && mu[g.Index] == 0f)
                throw new ArgumentException($"{where}Nesterov momentum needs momentum > 0.", "nesterov");
        }
        return mu;
    }

    /// <inheritdoc/>
    private protected override string Title => "SGD";

    /// <summary>μ (for groups that set none).</summary>
    public float Momentum { get; }

    /// <summary>Whether the step looks ahead along the velocity.</summary>
    public bool Nesterov { get; }

    /// <summary>λ, the L2 penalty added to the gradient (for groups that set none).</summary>
    public float WeightDecay { get; }

    /// <inheritdoc/>
    public override string Name => "sgd";

    /// <inheritdoc/>
    protected override void Update(int index, int offset, Span<float> w, ReadOnlySpan<float> grad)
    {
        var group = GroupOf(index);
        float lr = group.LearningRate, weightDecay = group.WeightDecay, momentum = groupMomentum[group.Index];
        if (momentum == 0f && weightDecay == 0f)
        {
            SimdDriver.Map<ScaleAddOperator>(w, grad, w, -lr, Simd.Width);   // W ← W − α·g
            return;
        }
        // The values [offset, offset + w.Length) of the parameter's scratch and velocity (made whole at the start).
        var g = scratch[index].AsSpan(offset, w.Length);
        if (weightDecay != 0f) SimdDriver.Map<ScaleAddOperator>(g, w, grad, weightDecay, Simd.Width);
        else grad.CopyTo(g);
        if (momentum != 0f)
        {
            var v = velocity[index].AsSpan(offset, w.Length);
            SimdDriver.Map<ScaleAddOperator>(v, v, g, momentum, Simd.Width);   // v ← μ·v + g (v₀ = 0, so the first v is g)
            if (Nesterov) SimdDriver.Map<ScaleAddOperator>(g, v, g, momentum, Simd.Width);   // g ← g + μ·v
            else v.CopyTo(g);
        }
        SimdDriver.Map<ScaleAddOperator>(w, g, w, -lr, Simd.Width);
    }

    /// <inheritdoc/>
    protected override bool UpdatesElementwise => true;

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Tensor State)> OwnState()
    {
        for (int i = 0; i < velocity.Length; i++)
            if (velocity[i] is { } v) yield return ($"velocity.{i}", Tensor.FromArray(v));
    }

    /// <inheritdoc/>
    protected override void LoadOwnState(IReadOnlyDictionary<string, Tensor> state)
    {
        // A parameter without a saved velocity has not been updated with momentum yet (or its group has none):
        // zeros, so that v₀ = g on its next step.
        for (int i = 0; i < velocity.Length; i++)
        {
            // (A group without momentum keeps a saved velocity, unused, so that its checkpoint still holds it.)
            if (state.ContainsKey($"velocity.{i}"))
                Required(state, $"velocity.{i}", Parameters[i].Size).AsSpan().CopyTo(velocity[i] ??= new float[Parameters[i].Size]);
            else velocity[i]?.AsSpan().Clear();
        }
    }
}
