using Backprop.Kernels;

namespace Backprop;

// Elementwise arithmetic with NumPy broadcasting. Each operator computes its value and, right below, the rule that
// sends the output gradient g back to its inputs (summed over broadcast dimensions).
public sealed partial class Tensor
{
    /// <summary>a + b. The add gate distributes: ∂/∂a = g, ∂/∂b = g.</summary>
    public static Tensor operator +(Tensor a, Tensor b)
    {
        var r = Elementwise<AddKernel>(a, b, "add");
        r.Record("add", AddBackward, a, b);
        return r;
    }

    private static readonly GradNode.StaticBackward AddBackward = static (node, g) =>
    {
        AccumulateBroadcastGrad(node.Inputs[0], g);
        AccumulateBroadcastGrad(node.Inputs[1], g);
    };

    /// <summary>a − b: ∂/∂a = g, ∂/∂b = −g.</summary>
    public static Tensor operator -(Tensor a, Tensor b)
    {
        var r = Elementwise<SubtractKernel>(a, b, "sub");
        r.Record("sub", SubtractBackward, a, b);
        return r;
    }

    private static readonly GradNode.StaticBackward SubtractBackward = static (node, g) =>
    {
        var (a, b) = (node.Inputs[0], node.Inputs[1]);
        AccumulateBroadcastGrad(a, g);
        if (b.RequiresGrad) AccumulateBroadcastGrad(b, -g);
    };

    /// <summary>a ⊙ b (elementwise). The mul gate swaps: ∂/∂a = g ⊙ b, ∂/∂b = g ⊙ a.</summary>
    public static Tensor operator *(Tensor a, Tensor b)
    {
        var r = Elementwise<MultiplyKernel>(a, b, "mul");
        r.Record("mul", MultiplyBackward, a, b, saves: Saves.Input0 | Saves.Input1);
        return r;
    }

    private static readonly GradNode.StaticBackward MultiplyBackward = static (node, g) =>
    {
        var (a, b) = (node.Inputs[0], node.Inputs[1]);
        if (a.RequiresGrad) AccumulateBroadcastGrad(a, g * b);
        if (b.RequiresGrad) AccumulateBroadcastGrad(b, g * a);
    };

    /// <summary>a ÷ b (elementwise): ∂/∂a = g / b, ∂/∂b = −g ⊙ a / b².</summary>
    public static Tensor operator /(Tensor a, Tensor b)
    {
        var r = Elementwise<DivideKernel>(a, b, "div");
        r.Record("div", DivideBackward, a, b, saves: Saves.Input1 | Saves.Output);
        return r;
    }

    private static readonly GradNode.StaticBackward DivideBackward = static (node, g) =>
    {
        var (a, b, r) = (node.Inputs[0], node.Inputs[1], node.Output!);
        if (a.RequiresGrad) AccumulateBroadcastGrad(a, g / b);
        if (b.RequiresGrad) AccumulateBroadcastGrad(b, -(g * r / b));
    };

    /// <summary>
    /// a ÷ <paramref name="divisor"/>, a constant: the same values and gradient (g ÷ divisor) as dividing by a scalar
    /// tensor, without making one (a loss's mean inside a training step allocates nothing).
    /// </summary>
    internal Tensor DivideBy(float divisor)
    {
        var r = Quotient(this, divisor);
        if (r.Record("div", DivideByBackward, this) is { } node) node.F0 = divisor;
        return r;
    }

    // x ÷ divisor elementwise, as a new step tensor.
    private static Tensor Quotient(Tensor x, float divisor)
    {
        var q = Uninitialized(x.dims);
        DivideKernel.Apply(x.data, divisor, q.data);
        return q;
    }

    private static readonly GradNode.StaticBackward DivideByBackward = static (node, g) =>
        node.Inputs[0].AccumulateOwnedGrad(Quotient(g, node.F0));

    /// <summary>−a: ∂/∂a = −g.</summary>
    public static Tensor operator -(Tensor a)
    {
        var r = a.Map(System.Numerics.Tensors.TensorPrimitives.Negate);
        r.Record("neg", NegateBackward, a);
        return r;
    }

    private static readonly GradNode.StaticBackward NegateBackward = static (node, g) => node.Inputs[0].AccumulateOwnedGrad(-g);

    /// <summary>
    /// Elementwise maximum. The max gate routes: g goes to whichever input was larger (split evenly on a tie,
    /// as torch.maximum does).
    /// </summary>
    public static Tensor Maximum(Tensor a, Tensor b)
    {
        var r = Elementwise<MaximumKernel>(a, b, "maximum");
        return r.Record("maximum", [a, b], g =>
        {
            if (a.RequiresGrad) AccumulateBroadcastGrad(a, g * Elementwise<RouteKernel>(a, b, "maximum"));
            if (b.RequiresGrad) AccumulateBroadcastGrad(b, g * Elementwise<RouteKernel>(b, a, "maximum"));
        }, saved: [a, b]);
    }

    /// <summary>
    /// Elementwise power with a tensor exponent: ∂/∂a = g ⊙ b ⊙ a^(b−1), ∂/∂b = g ⊙ a^b ⊙ ln a
    /// (taken as 0 where a = 0, as PyTorch does).
    /// </summary>
    public Tensor Pow(Tensor exponent)
    {
        var a = this;
        var r = Elementwise<PowKernel>(a, exponent, "pow");
        return r.Record("pow", [a, exponent], g =>
        {
            if (a.RequiresGrad) AccumulateBroadcastGrad(a, g * exponent * Elementwise<PowKernel>(a, exponent - 1f, "pow"));
            if (exponent.RequiresGrad)
                AccumulateBroadcastGrad(exponent, g * r * a.Map(static (x, y) =>
                {
                    for (int i = 0; i < x.Length; i++) y[i] = x[i] == 0f ? 0f : MathF.Log(x[i]);
                }));
        }, saved: [a, exponent, r]);
    }

    /// <summary>Local derivative of max(x, y) with respect to x: 1 if x &gt; y, ½ on a tie, else 0.</summary>
    private readonly struct RouteKernel : IBinaryKernel
    {
        public static float Apply(float x, float y) => x > y ? 1f : x == y ? 0.5f : 0f;
        public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) { for (int i = 0; i < d.Length; i++) d[i] = Apply(x[i], y[i]); }
        public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) { for (int i = 0; i < d.Length; i++) d[i] = Apply(x[i], y); }
        public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) { for (int i = 0; i < d.Length; i++) d[i] = Apply(x, y[i]); }
    }

    /// <summary>a + b (method form of the operator).</summary>
    public Tensor Add(Tensor other) => this + other;
    /// <summary>a − b (method form of the operator).</summary>
    public Tensor Sub(Tensor other) => this - other;
    /// <summary>a ⊙ b (method form of the operator).</summary>
    public Tensor Mul(Tensor other) => this * other;
    /// <summary>a ÷ b (method form of the operator).</summary>
    public Tensor Div(Tensor other) => this / other;
}
