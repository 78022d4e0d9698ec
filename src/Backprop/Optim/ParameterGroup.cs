using Backprop.Nn;

namespace Backprop.Optim;

/// <summary>
/// Parameters that share hyper-parameters, PyTorch's <c>{"params": ..., "lr": ...}</c>: give an optimizer several
/// groups to train each with its own learning rate and weight decay (and momentum or betas). A setting left null
/// takes the value given to the optimizer's constructor.
/// </summary>
/// <example>
/// <code>
/// var optimizer = new AdamW(ParameterGroup.SplitDecay(model, weightDecay: 0.05f), lr: 1e-3f);
/// var finetune = new Sgd([new ParameterGroup(head.Parameters()) { LearningRate = 0.1f }, new ParameterGroup(body.Parameters())], lr: 0.01f);
/// </code>
/// </example>
public sealed record ParameterGroup
{
    /// <summary>A group of <paramref name="parameters"/> (a tensor given twice is kept once).</summary>
    public ParameterGroup(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = [.. parameters];
    }

    /// <summary>The group's tensors.</summary>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>α for this group; null: the optimizer's.</summary>
    public float? LearningRate { get; init; }

    /// <summary>λ for this group (L2 for SGD and Adam, decoupled for AdamW); null: the optimizer's.</summary>
    public float? WeightDecay { get; init; }

    /// <summary>SGD's μ for this group; null: the optimizer's. Adam ignores it.</summary>
    public float? Momentum { get; init; }

    /// <summary>Adam's β₁ for this group; null: the optimizer's. SGD ignores it.</summary>
    public float? Beta1 { get; init; }

    /// <summary>Adam's β₂ for this group; null: the optimizer's. SGD ignores it.</summary>
    public float? Beta2 { get; init; }

    /// <summary>
    /// The common "no decay on biases and norms" split of <paramref name="model"/>'s parameters: group 0 holds the
    /// matrices and kernels with weight decay <paramref name="weightDecay"/>; group 1 holds, with no decay, every
    /// parameter of rank ≤ 1 (biases, BatchNorm's γ and β) and every parameter of a <see cref="BatchNorm"/> layer,
    /// or those <paramref name="noDecay"/> picks by name and tensor instead. Either group may be empty.
    /// </summary>
    public static ParameterGroup[] SplitDecay(Module model, float weightDecay, Func<string, Tensor, bool>? noDecay = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (weightDecay < 0f || !float.IsFinite(weightDecay))
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, $"weight decay must be a number ≥ 0 but got {weightDecay}.");
        var decay = new List<Tensor>();
        var none = new List<Tensor>();
        foreach (var (name, owner, p) in model.NamedParameterOwners())
        {
            bool exempt = noDecay?.Invoke(name, p) ?? (p.Rank <= 1 || owner is BatchNorm);
            (exempt ? none : decay).Add(p);
        }
        return [new ParameterGroup(decay) { WeightDecay = weightDecay }, new ParameterGroup(none) { WeightDecay = 0f }];
    }
}
