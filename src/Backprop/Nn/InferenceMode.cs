namespace Backprop.Nn;

/// <summary>
/// Evaluation mode as a property of the call rather than of the model: inside
/// <c>using (InferenceMode.Enter()) { ... }</c> every <see cref="Module"/> on this thread behaves as in evaluation mode
/// (<see cref="Module.IsTraining"/> reads false: dropout is the identity, batch norm uses and never updates its running
/// statistics) and no graph is recorded, whatever <see cref="Module.Train"/> or <see cref="Module.Eval"/> last set.
/// Nothing on the model changes, so any number of threads may run inference on one model at once, each in its own
/// scope, while the model stays in the mode its owner chose.
/// </summary>
/// <remarks>
/// The scope is per thread (like <see cref="GradMode.NoGrad"/>, which it includes) and scopes nest. <c>Predict</c>,
/// <c>Evaluate</c> and <see cref="Predictor"/> run inside one; a custom module honours it by reading
/// <see cref="Module.IsTraining"/> on the calling thread at each call, never caching it.
/// </remarks>
public static class InferenceMode
{
    [ThreadStatic] private static int depth;

    /// <summary>True inside an <see cref="Enter"/> scope on the current thread.</summary>
    public static bool IsActive => depth > 0;

    /// <summary>Runs modules on this thread in evaluation mode, without a graph, until the returned scope is disposed.</summary>
    public static Scope Enter()
    {
        var noGrad = GradMode.NoGrad();
        depth++;
        return new Scope(noGrad);
    }

    /// <summary>The scope returned by <see cref="Enter"/>; disposing it restores the thread's previous behaviour.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly GradMode.NoGradScope noGrad;

        internal Scope(GradMode.NoGradScope noGrad) => this.noGrad = noGrad;

        /// <summary>Ends the inference scope.</summary>
        public void Dispose()
        {
            depth--;
            noGrad.Dispose();
        }
    }
}
