namespace Backprop.Training;

/// <summary>
/// Which engine runs <c>Fit</c>'s training steps: asked for with <see cref="FitOptions.Engine"/>, reported by
/// <see cref="History.Engine"/>. Both compute the same gradients (tested); they differ in speed and reach.
/// </summary>
public enum TrainingEngine
{
    /// <summary>The compiled step when the model, loss and data allow it, else the autograd graph (the default).</summary>
    Auto,

    /// <summary>
    /// The compiled step: fused kernels over buffers allocated once, no graph, no allocation per step. It covers
    /// feed-forward stacks of the layers it knows (see <see cref="History.EngineReason"/> for why a model is not one).
    /// </summary>
    Compiled,

    /// <summary>The autograd graph: any model built from ops, recorded and differentiated at every step.</summary>
    Graph,
}
