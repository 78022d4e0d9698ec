namespace Backprop;

// Reductions built from the core ops (their gradients come from the graph), and the running sum.
public sealed partial class Tensor
{
    /// <summary>
    /// Minimum along <paramref name="axis"/>, as −max(−x): the gradient goes to the first position holding the
    /// minimum (like <c>torch.min(dim)</c>).
    /// </summary>
    public Tensor Min(int axis, bool keepDim = false) => -(-this).Max(axis, keepDim);

    /// <summary>Minimum of all elements, as a scalar; the gradient goes to the first minimal element.</summary>
    public Tensor Min() => -(-this).Max();

    /// <summary>Index of the minimum along <paramref name="axis"/> (first on ties), as float values like <see cref="ArgMax"/>. Not differentiable.</summary>
    public Tensor ArgMin(int axis = -1)
    {
        using (GradMode.NoGrad()) return (-this).ArgMax(axis);
    }

    /// <summary>
    /// Variance along <paramref name="axis"/>: Σ(x − mean)² / (n − <paramref name="correction"/>), with Bessel's
    /// correction 1 by default as PyTorch (<c>unbiased=True</c>); 0 gives the population variance.
    /// </summary>
    public Tensor Var(int axis, int correction = 1, bool keepDim = false)
    {
        var (_, n, _, ax) = AxisView(axis, "Var");
        if (n - correction <= 0)
            throw new InvalidOperationException($"Var: axis {ax} has {n} element(s), too few for correction {correction} (the divisor n − correction must be positive).");
        var centered = this - Mean(ax, keepDim: true);
        return (centered * centered).Sum(ax, keepDim) / (n - correction);
    }

    /// <summary>Variance of all elements with Bessel's correction, as a scalar (for another correction: <c>Reshape(-1).Var(0, c)</c>).</summary>
    public Tensor Var() => Reshape(Size).Var(0);

    /// <summary>Standard deviation along <paramref name="axis"/>: √<see cref="Var(int, int, bool)"/>.</summary>
    public Tensor Std(int axis, int correction = 1, bool keepDim = false) => Var(axis, correction, keepDim).Sqrt();

    /// <summary>Standard deviation of all elements with Bessel's correction, as a scalar.</summary>
    public Tensor Std() => Var().Sqrt();

    /// <summary>
    /// ln Σ eˣ along <paramref name="axis"/>, computed as m + ln Σ e^(x − m) with m the maximum so that large values do
    /// not overflow; its gradient is the softmax along the axis.
    /// </summary>
    public Tensor LogSumExp(int axis, bool keepDim = false)
    {
        var (_, n, _, ax) = AxisView(axis, "LogSumExp");
        if (n == 0) throw new InvalidOperationException($"LogSumExp: axis {ax} of shape {Shapes.Format(dims)} is empty.");
        Tensor m;
        using (GradMode.NoGrad()) m = Max(ax, keepDim: true);
        // An infinite maximum would make x − m NaN; shifting by 0 there gives ±∞ as the answer, as PyTorch.
        var shift = m.Clone();
        foreach (ref var v in shift.data.AsSpan()) if (float.IsInfinity(v)) v = 0;
        var result = (this - shift).Exp().Sum(ax, keepDim: true).Log() + shift;
        return keepDim ? result : result.Squeeze(ax);
    }

    /// <summary>
    /// Running sum along <paramref name="axis"/> (PyTorch's <c>cumsum</c>): y[i] = Σ_{j≤i} x[j]. Backward: the running
    /// sum of the gradient taken from the end, ∂L/∂x[j] = Σ_{i≥j} g[i].
    /// </summary>
    public Tensor CumSum(int axis)
    {
        var (outer, n, inner, _) = AxisView(axis, "CumSum");
        var r = Uninitialized(dims);
        Scan(data, r.data, outer, n, inner, reverse: false);
        return r.Record("cumsum", [this], g =>
        {
            var dx = Uninitialized(dims);
            Scan(g.data, dx.data, outer, n, inner, reverse: true);
            AccumulateOwnedGrad(dx);
        });
    }

    private static void Scan(float[] src, float[] dst, int outer, int n, int inner, bool reverse)
    {
        for (int o = 0; o < outer; o++)
            for (int k = 0; k < inner; k++)
            {
                double sum = 0;
                for (int step = 0; step < n; step++)
                {
                    int j = reverse ? n - 1 - step : step;
                    int at = (o * n + j) * inner + k;
                    sum += src[at];
                    dst[at] = (float)sum;
                }
            }
    }
}
