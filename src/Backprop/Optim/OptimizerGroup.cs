namespace Backprop.Optim;

/// <summary>
/// One parameter group as an optimizer holds it (PyTorch's <c>optimizer.param_groups[i]</c>): its tensors, its
/// learning rate, which schedules and callers may change between steps, and its resolved weight decay.
/// </summary>
public sealed class OptimizerGroup
{
    private float learningRate;

    internal OptimizerGroup(int index, IReadOnlyList<Tensor> parameters, float learningRate, float weightDecay, ParameterGroup? settings)
    {
        Index = index;
        Parameters = parameters;
        LearningRate = learningRate;
        WeightDecay = weightDecay;
        Settings = settings;
    }

    /// <summary>The group's position in <see cref="Optimizer.Groups"/>.</summary>
    public int Index { get; }

    /// <summary>The group's tensors, each in no other group.</summary>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>α for this group's next steps; must be a positive number.</summary>
    public float LearningRate
    {
        get => learningRate;
        set
        {
            if (!(value > 0f) || float.IsInfinity(value))
                throw new ArgumentOutOfRangeException(nameof(value), value, $"parameter group {Index}: the learning rate must be a positive number but got {value}.");
            learningRate = value;
        }
    }

    /// <summary>λ for this group.</summary>
    public float WeightDecay { get; }

    /// <summary>The group as it was asked for, or null when the optimizer was given a plain list of tensors.</summary>
    public ParameterGroup? Settings { get; }
}
