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
    public Sgd(IEnumerable<Tensor> parameters, float lr = 0.01f, float momentum = 0f, bool nesterov = false, float weightDecay = 0f)
        : base(parameters, lr)
    {
        // μ ≥ 1 makes the velocity a growing sum of past gradients (μ = 5 multiplies it by 5 every step): it diverges.
        if (!(momentum >= 0f && momentum < 1f))
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, $"SGD momentum must be in [0, 1) but is {Show(momentum)}; 0.9 is usual.");
        if (!(weightDecay >= 0f) || float.IsInfinity(weightDecay))
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, $"SGD weight decay must be a finite number ≥ 0 but is {Show(weightDecay)}.");
        if (nesterov && momentum == 0f) throw new ArgumentException("Nesterov momentum needs momentum > 0.", nameof(nesterov));
        Momentum = momentum;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
        velocity = new float[]?[Parameters.Count];
        scratch = new float[]?[Parameters.Count];
    }

    private static string Show(float v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>μ.</summary>
    public float Momentum { get; }

    /// <summary>Whether the step looks ahead along the velocity.</summary>
    public bool Nesterov { get; }

    /// <summary>λ, the L2 penalty added to the gradient.</summary>
    public float WeightDecay { get; }

    /// <inheritdoc/>
    public override string Name => "sgd";

    /// <inheritdoc/>
    protected override void Update(int index, int offset, Span<float> w, ReadOnlySpan<float> grad)
    {
        if (Momentum == 0f && WeightDecay == 0f)
        {
            SimdDriver.Map<ScaleAddOperator>(w, grad, w, -LearningRate, Simd.Width);   // W ← W − α·g
            return;
        }
        // Scratch for the effective gradient, allocated once per parameter so steady-state steps allocate nothing.
        Span<float> g = scratch[index] ??= new float[grad.Length];
        if (WeightDecay != 0f) SimdDriver.Map<ScaleAddOperator>(g, w, grad, WeightDecay, Simd.Width);
        else grad.CopyTo(g);
        if (Momentum != 0f)
        {
            var v = velocity[index];
            if (v is null) velocity[index] = v = g.ToArray();
            else SimdDriver.Map<ScaleAddOperator>(v, v, g, Momentum, Simd.Width);   // v ← μ·v + g
            if (Nesterov) SimdDriver.Map<ScaleAddOperator>(g, v, g, Momentum, Simd.Width);   // g ← g + μ·v
            else v.CopyTo(g);
        }
        SimdDriver.Map<ScaleAddOperator>(w, g, w, -LearningRate, Simd.Width);
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
