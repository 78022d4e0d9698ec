namespace Backprop.Nn;

/// <summary>Σ(p − y)² divided by the element count (MSE) or twice the element count (the seeds' half form).</summary>
internal sealed class MeanSquaredError(bool half) : ILoss
{
    public string Name => half ? "half_mse" : "mse";

    /// <summary>True for the seeds' half form Σ(p − y)²/(2·count).</summary>
    public bool Half => half;

    public Tensor Compute(Tensor prediction, Tensor target)
    {
        Losses.RequireSameShape(Name, prediction, target);
        var diff = prediction - target;
        return (diff * diff).Sum().DivideBy((float)((half ? 2 : 1) * Math.Max(1, diff.Size)));
    }
}
