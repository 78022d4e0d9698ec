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
        velocity = new float[]?[Parameters.Count];
        scratch = new float[]?[Parameters.Count];
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
        velocity = new float[]?[Parameters.Count];
        scratch = new float[]?[Parameters.Count];
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
        // Scratch for the effective gradient, allocated once per parameter so steady-state steps allocate nothing.
        Span<float> g = scratch[index] ??= new float[grad.Length];
        if (weightDecay != 0f) SimdDriver.Map<ScaleAddOperator>(g, w, grad, weightDecay, Simd.Width);
        else grad.CopyTo(g);
        if (momentum != 0f)
        {
            var v = velocity[index];
            if (v is null) velocity[index] = v = g.ToArray();
            else SimdDriver.Map<ScaleAddOperator>(v, v, g, momentum, Simd.Width);   // v ← μ·v + g
            if (Nesterov) SimdDriver.Map<ScaleAddOperator>(g, v, g, momentum, Simd.Width);   // g ← g + μ·v
            else v.CopyTo(g);
        }
        SimdDriver.Map<ScaleAddOperator>(w, g, w, -lr, Simd.Width);
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Tensor State)> OwnState()
    {
        for (int i = 0; i < velocity.Length; i++)
            if (velocity[i] is { } v) yield return ($"velocity.{i}", Tensor.FromArray(v));
    }

    /// <inheritdoc/>
    protected override void LoadOwnState(IReadOnlyDictionary<string, Tensor> state)
    {
        // A parameter without a saved velocity has not been updated with momentum yet: v₀ = g on its next step.
        for (int i = 0; i < velocity.Length; i++)
            velocity[i] = state.ContainsKey($"velocity.{i}") ? Required(state, $"velocity.{i}", Parameters[i].Size).ToArray() : null;
    }
}
