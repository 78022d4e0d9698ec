namespace Backprop.Optim;

/// <summary>
/// Updates parameters from their gradients: <c>W := W − α·∂E/∂W</c> and its refinements. Updates are made in place
/// on the parameters' storage, outside the graph.
/// </summary>
public abstract class Optimizer
{
    /// <summary>Creates an optimizer over <paramref name="parameters"/> with learning rate α.</summary>
    protected Optimizer(IEnumerable<Tensor> parameters, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = [.. parameters];
        if (Parameters.Count == 0) throw new ArgumentException("the optimizer got no parameters to update.", nameof(parameters));
        foreach (var p in Parameters)
            if (!p.RequiresGrad) throw new ArgumentException("every parameter given to an optimizer must have RequiresGrad = true.", nameof(parameters));
        if (!(learningRate > 0f) || float.IsInfinity(learningRate))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "the learning rate must be a positive number.");
        LearningRate = learningRate;
    }

    /// <summary>The tensors this optimizer updates.</summary>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>α, the step size (schedules change it between steps).</summary>
    public float LearningRate { get; set; }

    /// <summary>Number of <see cref="Step"/> calls so far.</summary>
    public long StepCount { get; protected set; }

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    public void Step()
    {
        StepCount++;
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad is null) continue;
            Update(i, p.AsSpan(), p.Grad.AsSpan());
        }
    }

    /// <summary>Updates parameter number <paramref name="index"/> in place from its gradient.</summary>
    protected abstract void Update(int index, Span<float> parameter, ReadOnlySpan<float> gradient);

    /// <summary>Clears every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.ZeroGrad();
    }

    /// <summary>The name used on the command line (<c>sgd</c>, <c>adam</c>).</summary>
    public abstract string Name { get; }
}
