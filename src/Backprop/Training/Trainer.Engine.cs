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
        var plan = ChooseEngine(options.Engine, nameof(FitOptions), (out string? reason) =>
        {
            if (train.InputCount > 1) reason = $"the data has {train.InputCount} inputs per row; the compiled step takes one";
            else if (OutputTerms.Apply(model, train, loss)) reason = OutputTerms.Reason(model, train, loss);
            else if (train.IntTargets is not null && train.NumClasses > 1 << 24)
                reason = $"the data has {train.NumClasses} classes, and the compiled step reads class labels as floats (exact up to 2^24)";
            else return TrainingPlan.TryCreate(model, loss, train, options.BatchSize, out reason);
            return null;
        }, out var why);
        history.Engine = plan is null ? TrainingEngine.Graph : TrainingEngine.Compiled;
        history.EngineReason = why;
        return plan;
    }

    /// <summary>Compiles a run's step, or returns null with the reason it cannot be compiled.</summary>
    internal delegate TrainingPlan? PlanCompiler(out string? reason);

    /// <summary>
    /// The engine choice every trainer makes (<see cref="Fit(Module, Dataset, ILoss, Optim.Optimizer, FitOptions)"/>,
    /// <see cref="Generative.ReconstructionTrainer"/>): for <paramref name="asked"/> Auto or Compiled, the plan
    /// <paramref name="compile"/> makes; for Graph, or when it makes none, null with the reason in
    /// <paramref name="reason"/> (null when a plan was made).
    /// </summary>
    /// <param name="asked">The engine the run's options ask for.</param>
    /// <param name="optionsName">The options type that asked, for messages (<c>FitOptions</c>).</param>
    /// <param name="compile">Tries to compile the run's step.</param>
    /// <param name="reason">Why the graph runs; null when the compiled step does.</param>
    /// <exception cref="InvalidOperationException">Compiled was asked for but the step does not compile.</exception>
    internal static TrainingPlan? ChooseEngine(TrainingEngine asked, string optionsName, PlanCompiler compile, out string? reason)
    {
        TrainingPlan? plan = null;
        switch (asked)
        {
            case TrainingEngine.Graph:
                reason = "the graph was asked for (Engine = Graph)";
                break;
            case TrainingEngine.Auto or TrainingEngine.Compiled:
                plan = compile(out reason);
                if (plan is null && asked == TrainingEngine.Compiled)
                    throw new InvalidOperationException($"Engine = Compiled, but the compiled step cannot train this model: {reason}. Use Engine = Auto to train it through the autograd graph.");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(asked), asked, $"{optionsName}.Engine must be Auto, Compiled or Graph but is {(int)asked}.");
        }
        if (plan is not null) reason = null;
        return plan;
    }
}
