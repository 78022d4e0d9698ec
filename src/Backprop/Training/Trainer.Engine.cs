using Backprop.Data;
using Backprop.Nn;

namespace Backprop.Training;

public static partial class Trainer
{
    /// <summary>
    /// The compiled step for this run, or null for the autograd graph, as <see cref="FitOptions.Engine"/> asks;
    /// records the choice and, for the graph, its reason in <paramref name="history"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Engine is Compiled but the compiled step cannot train the model.</exception>
    private static TrainingPlan? ChooseEngine(Module model, ILoss loss, Dataset train, FitOptions options, History history)
    {
        TrainingPlan? plan = null;
        string? reason;
        switch (options.Engine)
        {
            case TrainingEngine.Graph:
                reason = "the graph was asked for (Engine = Graph)";
                break;
            case TrainingEngine.Auto or TrainingEngine.Compiled:
                if (train.InputCount > 1) reason = $"the data has {train.InputCount} inputs per row; the compiled step takes one";
                else if (OutputTerms.Apply(model, train, loss)) reason = OutputTerms.Reason(model, train, loss);
                else if (train.IntTargets is not null && train.NumClasses > 1 << 24)
                    reason = $"the data has {train.NumClasses} classes, and the compiled step reads class labels as floats (exact up to 2^24)";
                else plan = TrainingPlan.TryCreate(model, loss, train, options.BatchSize, out reason);
                if (plan is null && options.Engine == TrainingEngine.Compiled)
                    throw new InvalidOperationException($"Engine = Compiled, but the compiled step cannot train this model: {reason}. Use Engine = Auto to train it through the autograd graph.");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Engine, $"FitOptions.Engine must be Auto, Compiled or Graph but is {(int)options.Engine}.");
        }
        history.Engine = plan is null ? TrainingEngine.Graph : TrainingEngine.Compiled;
        history.EngineReason = plan is null ? reason : null;
        return plan;
    }
}
