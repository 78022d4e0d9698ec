using System.Numerics.Tensors;
using Backprop.Kernels;

namespace Backprop;

// Elementwise functions. Each forward is one span kernel; the backward below it is g ⊙ f'(x), written from the input
// x and, where cheaper, the output y.
public sealed partial class Tensor
{
    /// <summary>eˣ: f'(x) = eˣ = y.</summary>
    public Tensor Exp() => Map(TensorPrimitives.Exp)
        .RecordUnary("exp", this, static (x, y, g, dx) => TensorPrimitives.Multiply(g, y, dx), fromOutput: true);

    /// <summary>ln x: f'(x) = 1/x.</summary>
    public Tensor Log() => Map(TensorPrimitives.Log)
        .RecordUnary("log", this, static (x, y, g, dx) => TensorPrimitives.Divide(g, x, dx));

    /// <summary>√x: f'(x) = 1/(2√x) = 1/(2y).</summary>
    public Tensor Sqrt() => Map(TensorPrimitives.Sqrt)
        .RecordUnary("sqrt", this, static (x, y, g, dx) => SimdDriver.Map<SqrtBackwardOperator>(dx, g, y, Simd.Width), fromOutput: true);

    /// <summary>|x|: f'(x) = sign(x) (0 at 0, as PyTorch).</summary>
    public Tensor Abs() => Map(TensorPrimitives.Abs)
        .RecordUnary("abs", this, static (x, y, g, dx) => SimdDriver.Map<AbsBackwardOperator>(dx, g, x, Simd.Width));

    /// <summary>xᵖ with a constant exponent: f'(x) = p·xᵖ⁻¹.</summary>
    public Tensor Pow(float exponent)
    {
        var r = Map(static (x, y, exponent, _) => { for (int i = 0; i < y.Length; i++) y[i] = MathF.Pow(x[i], exponent); }, exponent);
        return r.RecordUnary("pow", this, static (x, y, g, dx, exponent, _) =>
        {
            for (int i = 0; i < dx.Length; i++) dx[i] = g[i] * exponent * MathF.Pow(x[i], exponent - 1f);
        }, exponent);
    }

    /// <summary>
    /// Limits every element to [min, max]. The gradient passes where min ≤ x ≤ max and is 0 outside
    /// (PyTorch's convention at the bounds).
    /// </summary>
    public Tensor Clamp(float min, float max)
    {
        if (min > max) throw new ArgumentException($"Clamp: min {min} is greater than max {max}.");
        var r = Map(static (x, y, min, max) => TensorPrimitives.Clamp(x, min, max, y), min, max);
        return r.RecordUnary("clamp", this, static (x, y, g, dx, min, max) => SimdDriver.Map<ClampBackwardOperator>(dx, g, x, min, max, Simd.Width), min, max);
    }

    /// <summary>x² (as x ⊙ x, so the mul gate supplies the gradient 2x).</summary>
    public Tensor Square() => this * this;
}
