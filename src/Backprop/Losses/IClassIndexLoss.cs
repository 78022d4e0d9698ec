namespace Backprop.Nn;

/// <summary>
/// A loss over class indices that also takes them as integers, exact at any size (PyTorch's int64 targets), e.g.
/// <see cref="CrossEntropyLoss"/> and <see cref="NllLoss"/>. <c>Fit</c> and <c>Evaluate</c> give it a dataset's
/// <see cref="Data.Dataset.IntTargets"/> when the dataset holds its labels as integers. Both overloads give the same
/// loss and gradient for the same classes.
/// </summary>
public interface IClassIndexLoss : ILoss
{
    /// <summary>The loss as a 0-d tensor for class indices <paramref name="target"/> <c>[N]</c>, differentiable with respect to <paramref name="prediction"/>.</summary>
    /// <exception cref="ArgumentException">A label is negative or not below the number of classes (its row and value are named).</exception>
    Tensor Compute(Tensor prediction, IntTensor target);
}
