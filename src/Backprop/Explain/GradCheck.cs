namespace Backprop.Explain;

/// <summary>
/// Checks autograd against central finite differences: for L = Σ f(x) ⊙ R with fixed random R,
/// ∂L/∂xᵢ ≈ (L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h for every element of every input.
/// </summary>
/// <remarks>
/// R weights every output element differently, so a gradient that is wrong for one output position cannot hide in
/// a plain sum. L is accumulated in double; the float32 rounding of f itself is what limits the accuracy (see
/// <see cref="GradCheckOptions.Step"/>).
/// </remarks>
public static partial class GradCheck
{
    /// <summary>Checks <paramref name="f"/> at <paramref name="inputs"/> with the default options.</summary>
    public static GradCheckResult Check(Func<Tensor[], Tensor> f, params Tensor[] inputs) =>
        Check(f, GradCheckOptions.Default, inputs);

    /// <summary>
    /// Compares the autograd gradient of L = Σ f(inputs) ⊙ R with central differences, element by element.
    /// </summary>
    /// <param name="f">The function; it may also read the inputs through a closure (e.g. a model's parameters).</param>
    /// <param name="options">Step, relative-error floor and the seed of R.</param>
    /// <param name="inputs">
    /// Leaf tensors, perturbed in place one element at a time and restored afterwards; their
    /// <see cref="Tensor.RequiresGrad"/> and <see cref="Tensor.Grad"/> are restored too.
    /// </param>
    public static GradCheckResult Check(Func<Tensor[], Tensor> f, GradCheckOptions options, params Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(inputs);
        foreach (var x in inputs)
            if (!x.IsLeaf)
                throw new ArgumentException($"GradCheck: inputs must be leaf tensors, but one is the output of '{x.Op}'.", nameof(inputs));

        var saved = inputs.Select(x => (x.RequiresGrad, x.Grad)).ToArray();
        try
        {
            var analytic = AutogradGradients(f, inputs, options.Seed, out var r);
            return CompareWithCentralDifferences(f, inputs, r, analytic, options);
        }
        finally
        {
            for (int i = 0; i < inputs.Length; i++) (inputs[i].RequiresGrad, inputs[i].Grad) = saved[i];
        }
    }

    /// <summary>∂L/∂input for every input by one backward pass of R through f; also returns R.</summary>
    private static float[][] AutogradGradients(Func<Tensor[], Tensor> f, Tensor[] inputs, int seed, out Tensor r)
    {
        if (!GradMode.IsEnabled)
            throw new InvalidOperationException("GradCheck: gradients cannot be checked inside a GradMode.NoGrad() scope.");
        foreach (var x in inputs) { x.RequiresGrad = true; x.ZeroGrad(); }
        var y = f(inputs);
        r = Tensor.RandomNormal([.. y.Shape], seed);
        if (y.RequiresGrad) y.Backward(r);   // ∂L/∂y = R
        return inputs.Select(x => x.Grad?.ToArray() ?? new float[x.Size]).ToArray();
    }

    private static GradCheckResult CompareWithCentralDifferences(
        Func<Tensor[], Tensor> f, Tensor[] inputs, Tensor r, float[][] analytic, GradCheckOptions options)
    {
        double worst = 0, worstA = 0, worstN = 0;
        int worstInput = 0, worstAt = 0, count = 0;
        using (GradMode.NoGrad())
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                var data = inputs[i].AsSpan();
                for (int j = 0; j < data.Length; j++)
                {
                    float v = data[j];
                    // x ± h rounded to float32: divide by the step actually taken, not the one asked for.
                    float plus = (float)(v + options.Step), minus = (float)(v - options.Step);
                    data[j] = plus;
                    double lPlus = WeightedSum(f(inputs), r);
                    data[j] = minus;
                    double lMinus = WeightedSum(f(inputs), r);
                    data[j] = v;
                    double numeric = (lPlus - lMinus) / ((double)plus - minus);
                    double a = analytic[i][j];
                    double rel = Math.Abs(a - numeric) / Math.Max(Math.Max(Math.Abs(a), Math.Abs(numeric)), options.Floor);
                    if (double.IsNaN(rel)) rel = double.PositiveInfinity;   // a NaN gradient always fails
                    if (count++ == 0 || rel > worst) (worst, worstA, worstN, worstInput, worstAt) = (rel, a, numeric, i, j);
                }
            }
        }
        return new GradCheckResult(worst, worstInput, Unravel(worstAt, inputs.Length == 0 ? [] : [.. inputs[worstInput].Shape]),
            worstA, worstN, count);
    }

    /// <summary>L = Σₖ yₖ·Rₖ, accumulated in double.</summary>
    private static double WeightedSum(Tensor y, Tensor r)
    {
        if (y.Size != r.Size)
            throw new InvalidOperationException($"GradCheck: f returned {y.Size} elements after returning {r.Size}; f must keep its output shape.");
        var ys = y.AsSpan();
        var rs = r.AsSpan();
        double sum = 0;
        for (int k = 0; k < ys.Length; k++) sum += (double)ys[k] * rs[k];
        return sum;
    }

    private static int[] Unravel(int flat, int[] shape)
    {
        var index = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] == 0) return index;
            index[d] = flat % shape[d];
            flat /= shape[d];
        }
        return index;
    }
}
