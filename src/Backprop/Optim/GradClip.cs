using System.Numerics.Tensors;

namespace Backprop.Optim;

/// <summary>
/// Gradient clipping between <c>Backward()</c> and <see cref="Optimizer.Step"/>, as PyTorch's
/// <c>clip_grad_norm_</c> and <c>clip_grad_value_</c>: it rewrites the parameters' <see cref="Tensor.Grad"/> in place.
/// </summary>
/// <remarks>
/// Only the gradients the optimizer would apply take part: a parameter with no gradient, or frozen
/// (<see cref="Tensor.RequiresGrad"/> false, whose stale gradient <see cref="Optimizer.Step"/> ignores), is skipped,
/// and a tensor listed twice (a shared layer) counts once. In <c>Fit</c>, set <c>FitOptions.ClipGradNorm</c> or
/// <c>FitOptions.ClipGradValue</c>; both engines clip the same gradients the same way.
/// </remarks>
public static class GradClip
{
    /// <summary>Added to the total norm before dividing, as PyTorch does, so a zero gradient divides safely.</summary>
    public const double Epsilon = 1e-6;

    /// <summary>
    /// Scales all gradients together so that their global L2 norm ‖g‖ = √(Σ over every gradient element of g²) is at
    /// most <paramref name="maxNorm"/>: each is multiplied by min(1, maxNorm / (‖g‖ + 1e-6)). Returns ‖g‖ before
    /// clipping (log it to see how often clipping bites).
    /// </summary>
    /// <remarks>
    /// A non-finite norm (an overflowed or NaN gradient) leaves the gradients as they are and is returned, so the
    /// caller sees it; PyTorch would multiply them by NaN.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is not a positive finite number.</exception>
    public static float ByNorm(IEnumerable<Tensor> parameters, float maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        RequirePositive(maxNorm, nameof(maxNorm), "the largest gradient norm");
        return NormOfUnique(Unique(parameters), maxNorm);
    }

    /// <summary>
    /// Clamps every gradient element to [−<paramref name="clip"/>, <paramref name="clip"/>] (PyTorch's
    /// <c>clip_grad_value_</c>). Unlike <see cref="ByNorm"/> this changes the gradient's direction.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="clip"/> is not a positive finite number.</exception>
    public static void ByValue(IEnumerable<Tensor> parameters, float clip)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        RequirePositive(clip, nameof(clip), "the gradient clip value");
        ValueOfUnique(Unique(parameters), clip);
    }

    /// <summary>
    /// <c>Fit</c>'s clipping, on a list without repeats (e.g. <see cref="Optimizer.Parameters"/>; nothing is
    /// allocated): by value first, then by norm; nothing for a limit that is null.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is not a positive finite number.</exception>
    public static void Apply(IReadOnlyList<Tensor> parameters, float? clipValue, float? maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (clipValue is { } c) RequirePositive(c, nameof(clipValue), "the gradient clip value");
        if (maxNorm is { } n) RequirePositive(n, nameof(maxNorm), "the largest gradient norm");
        if (clipValue is { } clip) ValueOfUnique(parameters, clip);
        if (maxNorm is { } norm) NormOfUnique(parameters, norm);
    }

    /// <summary>
    /// The factor <see cref="ByNorm"/> multiplies every gradient by when their global L2 norm is
    /// <paramref name="norm"/>: <paramref name="maxNorm"/> / (norm + 1e-6) when that is below 1, else 1 (also for a
    /// non-finite norm, which leaves the gradients as they are). For gradients held in parts (one per rank), whose
    /// norm is √ of the ranks' summed Σ g².
    /// </summary>
    public static double NormScale(double norm, float maxNorm)
    {
        double coefficient = maxNorm / (norm + Epsilon);
        return double.IsFinite(norm) && coefficient < 1 ? coefficient : 1;
    }

    /// <summary>Clamps every value of <paramref name="gradient"/> to [−<paramref name="clip"/>, <paramref name="clip"/>] (<see cref="ByValue"/> on a span).</summary>
    public static void Clamp(Span<float> gradient, float clip)
    {
        TensorPrimitives.Max(gradient, -clip, gradient);
        TensorPrimitives.Min(gradient, clip, gradient);
    }

    /// <summary>Throws unless <paramref name="value"/> is a positive finite number.</summary>
    internal static float RequirePositive(float value, string name, string what) =>
        value > 0f && float.IsFinite(value) ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{what} must be a positive number but is {value}.");

    private static List<Tensor> Unique(IEnumerable<Tensor> parameters)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var list = new List<Tensor>();
        foreach (var p in parameters)
        {
            ArgumentNullException.ThrowIfNull(p, nameof(parameters));
            if (seen.Add(p)) list.Add(p);
        }
        return list;
    }

    private static bool Applies(Tensor p) => p.Grad is not null && p.RequiresGrad;

    private static float NormOfUnique(IReadOnlyList<Tensor> parameters, float maxNorm)
    {
        // Σ g² per tensor in float (SIMD, pairwise lanes), across tensors in double.
        double sumSquares = 0;
        for (int i = 0; i < parameters.Count; i++)
            if (Applies(parameters[i])) sumSquares += TensorPrimitives.SumOfSquares<float>(parameters[i].Grad!.AsSpan());
        double norm = Math.Sqrt(sumSquares);
        double coefficient = NormScale(norm, maxNorm);
        if (coefficient < 1)
        {
            for (int i = 0; i < parameters.Count; i++)
                if (Applies(parameters[i])) TensorPrimitives.Multiply(parameters[i].Grad!.AsSpan(), (float)coefficient, parameters[i].Grad!.AsSpan());
        }
        return (float)norm;
    }

    private static void ValueOfUnique(IReadOnlyList<Tensor> parameters, float clip)
    {
        for (int i = 0; i < parameters.Count; i++)
        {
            if (Applies(parameters[i])) Clamp(parameters[i].Grad!.AsSpan(), clip);
        }
    }
}
