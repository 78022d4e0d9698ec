using Backprop.Nn;

namespace Backprop.Training;

internal sealed partial class TrainingPlan
{
    // The model a training plan was compiled from and the hook registry's version then: the plan cannot call hooks,
    // so one registered on the model after it was compiled must stop training rather than be skipped.
    private (Module? Model, int Version) watched;

    private void WatchHooks(Module model, int version) => watched = (model, version);

    /// <exception cref="InvalidOperationException">A hook was registered on the model after the plan was compiled.</exception>
    private void CheckNoNewHooks()
    {
        if (watched.Model is not { } model || HookRegistry.Version == watched.Version) return;
        if (model.HooksReason(training: true) is { } reason)
            throw new InvalidOperationException($"a hook was registered while Fit trained the model with the compiled step: {reason}. Register hooks before Fit, which then trains through the autograd graph.");
        watched = (model, HookRegistry.Version);
    }
}
