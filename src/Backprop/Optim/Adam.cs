using System.Numerics.Tensors;

namespace Backprop.Optim;

/// <summary>
/// Adam (Kingma &amp; Ba, 2015), PyTorch's formulation: g ← ∇W + λ·W; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// W ← W − α·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε).
/// </summary>
public sealed class Adam : Optimizer
{
    private readonly float[][] m, v;

    /// <summary>Creates Adam with learning rate α, moment decay rates β₁ and β₂, ε and L2 weight decay λ.</summary>
    public Adam(IEnumerable<Tensor> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0f)
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

    /// <summary>λ, the L2 penalty added to the gradient.</summary>
    public float WeightDecay { get; }

    /// <inheritdoc/>
    public override string Name => "adam";

    /// <inheritdoc/>
    protected override void Update(int index, Span<float> w, ReadOnlySpan<float> grad)
    {
        var mi = m[index];
        var vi = v[index];
        float b1 = Beta1, b2 = Beta2, wd = WeightDecay;
        float bias1 = 1f - MathF.Pow(b1, StepCount), bias2 = 1f - MathF.Pow(b2, StepCount);
        float stepSize = LearningRate / bias1;
        float invSqrtBias2 = 1f / MathF.Sqrt(bias2);
        for (int i = 0; i < w.Length; i++)
        {
            float g = grad[i] + wd * w[i];
            mi[i] = b1 * mi[i] + (1f - b1) * g;
            vi[i] = b2 * vi[i] + (1f - b2) * g * g;
            w[i] -= stepSize * mi[i] / (MathF.Sqrt(vi[i]) * invSqrtBias2 + Epsilon);
        }
    }

    /// <summary>First and second moment buffers per parameter, for checkpoints.</summary>
    internal (float[][] M, float[][] V) Moments => (m, v);
}
