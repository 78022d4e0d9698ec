namespace Backprop.Nn;

/// <summary>A cost function: a scalar that says how far predictions are from targets.</summary>
public interface ILoss
{
    /// <summary>The name used on the command line and in model files, e.g. <c>cross_entropy</c>.</summary>
    string Name { get; }

    /// <summary>The loss as a 0-d tensor, differentiable with respect to <paramref name="prediction"/>.</summary>
    Tensor Compute(Tensor prediction, Tensor target);
}
