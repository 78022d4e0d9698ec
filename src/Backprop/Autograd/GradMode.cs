namespace Backprop;

/// <summary>
/// Turns graph recording on and off for the current thread. Inside <c>using (GradMode.NoGrad()) { ... }</c>
/// operations compute values only: nothing is recorded and nothing can be differentiated (inference, optimizer
/// updates, and the backward pass itself).
/// </summary>
public static class GradMode
{
    [ThreadStatic] private static int disabledDepth;

    /// <summary>True when operations on tensors that require gradients are being recorded.</summary>
    public static bool IsEnabled => disabledDepth == 0;

    /// <summary>Stops recording until the returned scope is disposed. Scopes nest.</summary>
    public static NoGradScope NoGrad()
    {
        disabledDepth++;
        return new NoGradScope();
    }

    /// <summary>The scope returned by <see cref="NoGrad"/>; disposing it restores recording.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        /// <summary>Ends the no-grad scope.</summary>
        public void Dispose() => disabledDepth--;
    }
}
