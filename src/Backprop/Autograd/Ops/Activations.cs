using System.Numerics.Tensors;
using Backprop.Kernels;

namespace Backprop;

// The seeds' non-linearities. Their derivatives are written from the output where the seeds do:
// σ'(z) = σ(z)(1 − σ(z)) is the "O_out ⊙ (1 − O_out)" factor of O_delta.
public sealed partial class Tensor
{
    /// <summary>σ(x) = 1 / (1 + e⁻ˣ): f'(x) = y(1 − y).</summary>
    public Tensor Sigmoid() => Map(TensorPrimitives.Sigmoid)
        .RecordUnary("sigmoid", this, static (x, y, g, dx) => SimdDriver.Map<SigmoidBackwardOperator>(dx, g, y, Simd.Width), fromOutput: true);

    /// <summary>tanh x: f'(x) = 1 − y².</summary>
    public Tensor Tanh() => Map(TensorPrimitives.Tanh)
        .RecordUnary("tanh", this, static (x, y, g, dx) => SimdDriver.Map<TanhBackwardOperator>(dx, g, y, Simd.Width), fromOutput: true);

    /// <summary>max(0, x): f'(x) = 1 for x &gt; 0, else 0 (0 at x = 0, as PyTorch).</summary>
    public Tensor Relu() => Map(static (x, y) => TensorPrimitives.Max(x, 0f, y))
        .RecordUnary("relu", this, static (x, y, g, dx) => SimdDriver.Map<ReluBackwardOperator>(dx, g, x, Simd.Width));

    /// <summary>x for x &gt; 0, else slope·x: f'(x) = 1 or slope.</summary>
    public Tensor LeakyRelu(float slope = 0.01f)
    {
        var r = Map(static (x, y, slope, _) => SimdDriver.Map<LeakyReluOperator>(y, x, slope, Simd.Width), slope);
        return r.RecordUnary("leaky_relu", this, static (x, y, g, dx, slope, _) => SimdDriver.Map<LeakyReluBackwardOperator>(dx, g, x, slope, Simd.Width), slope);
    }
}
