namespace Backprop.Optim;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter, 2019), PyTorch's formulation: weight decay is decoupled from the gradient,
/// W ← W·(1 − α·λ), then the Adam step with the raw gradient: m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// W ← W − α·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε). Unlike <see cref="Adam"/>'s L2 penalty, the decay is not rescaled
/// by the moments, so every weight shrinks at the same rate.
/// </summary>
public sealed class AdamW : Optimizer
{
    private readonly float[][] m, v;

    /// <summary>Creates AdamW with learning rate α, β₁, β₂, ε and decoupled weight decay λ (PyTorch's default 0.01).</summary>
    public AdamW(IEnumerable<Tensor> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0.01f)
        : base(parameters, lr)
    {
        if (beta1 is < 0f or >= 1f) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "β₁ must be in [0, 1).");
        if (beta2 is < 0f or >= 1f) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "β₂ must be in [0, 1).");
        if (!(eps > 0f)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "ε must be positive.");
        if (weightDecay < 0f) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "weight decay must be ≥ 0.");
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = eps;
        WeightDecay = weightDecay;
        m = [.. Parameters.Select(p => new float[p.Size])];
        v = [.. Parameters.Select(p => new float[p.Size])];
    }

    /// <summary>β₁, decay of the first moment.</summary>
    public float Beta1 { get; }

    /// <summary>β₂, decay of the second moment.</summary>
    public float Beta2 { get; }

    /// <summary>ε, added to the denominator.</summary>
    public float Epsilon { get; }

    /// <summary>λ, the decoupled decay: each step multiplies W by 1 − α·λ.</summary>
    public float WeightDecay { get; }

    /// <inheritdoc/>
    public override string Name => "adamw";

    /// <inheritdoc/>
    protected override bool UpdatesElementwise => true;

    /// <inheritdoc/>
    protected override void Update(int index, int offset, Span<float> w, ReadOnlySpan<float> grad)
    {
        float keep = 1f - LearningRate * WeightDecay;
        for (int i = 0; i < w.Length; i++) w[i] *= keep;
        Adam.Apply(w, grad, m[index].AsSpan(offset), v[index].AsSpan(offset), LearningRate, Beta1, Beta2, Epsilon, l2: 0f, StepCount);
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Tensor State)> OwnState() => Adam.MomentState(m, v);

    /// <inheritdoc/>
    protected override void LoadOwnState(IReadOnlyDictionary<string, Tensor> state) => Adam.LoadMoments(state, m, v);
}
