using System.Runtime.CompilerServices;
using Backprop.Kernels;

namespace Backprop.Optim;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter, 2019), PyTorch's formulation: weight decay is decoupled from the gradient,
/// W ← W·(1 − α·λ), then the Adam step with the raw gradient: m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// W ← W − α·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε). Unlike <see cref="Adam"/>'s L2 penalty, the decay is not rescaled
/// by the moments, so every weight shrinks at the same rate.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates AdamW with learning rate α, β₁, β₂, ε and decoupled weight decay λ (PyTorch's default 0.01).</summary>
    [OverloadResolutionPriority(1)]   // an empty collection expression means no tensors, not no groups
    public AdamW(IEnumerable<Tensor> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0.01f)
        : base(parameters, lr, beta1, beta2, eps, weightDecay)
    {
    }

    /// <summary>
    /// Creates AdamW over parameter <paramref name="groups"/>: each group's α, λ, β₁ and β₂ where it sets them, these
    /// arguments where it does not; <see cref="ParameterGroup.SplitDecay"/> makes the usual no-decay group.
    /// </summary>
    public AdamW(IEnumerable<ParameterGroup> groups, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0.01f)
        : base(groups, lr, beta1, beta2, eps, weightDecay)
    {
    }

    /// <inheritdoc/>
    public override string Name => "adamw";

    /// <inheritdoc/>
    protected override void Update(int index, int offset, Span<float> w, ReadOnlySpan<float> grad)
    {
        var g = GroupOf(index);
        float keep = 1f - g.LearningRate * g.WeightDecay;
        SimdDriver.Map<MultiplyOperator>(w, w, keep, Simd.Width);
        Apply(w, grad, m[index].AsSpan(offset), v[index].AsSpan(offset), g.LearningRate, groupBeta1[g.Index], groupBeta2[g.Index],
            Epsilon, l2: 0f, StepCount);
    }
}
