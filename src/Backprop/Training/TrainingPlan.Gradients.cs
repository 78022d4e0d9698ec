namespace Backprop.Training;

internal sealed partial class TrainingPlan
{
    /// <summary>One parameter's gradient buffer, owned by the plan and shared by every stage that uses the parameter.</summary>
    private sealed class ParameterGradient(Tensor parameter)
    {
        private Tensor? buffer;

        public readonly Tensor Parameter = parameter;

        /// <summary>How many stages use the parameter (a layer applied twice has two uses).</summary>
        public int Uses;

        /// <summary>The buffer, made by <see cref="Gradients.Finish"/> (a forward-only plan has none).</summary>
        public Tensor Buffer => buffer ?? throw new InvalidOperationException("TrainingPlan: a forward-only plan has no gradient buffers.");

        public void Allocate() => buffer ??= Tensor.Zeros([.. Parameter.Shape]);
    }

    /// <summary>
    /// A stage's use of one parameter. A layer used k times gets ∂E/∂W = Σ over its uses, as the graph accumulates
    /// it: in backward order the first use of a parameter writes its buffer and every later use adds to it
    /// (<see cref="Accumulate"/>), so no step clears a buffer and none allocates.
    /// </summary>
    private sealed class GradientUse(ParameterGradient target)
    {
        public readonly ParameterGradient Target = target;

        /// <summary>Add to the buffer rather than overwrite it: a use later in backward order already wrote it this step.</summary>
        public bool Accumulate;

        /// <summary>
        /// False while the parameter is frozen (<see cref="Tensor.RequiresGrad"/> false, read at every step, so
        /// freezing after the optimizer was built holds): its gradient is not computed and its Grad is left alone.
        /// </summary>
        public bool Wanted => Target.Parameter.RequiresGrad;

        /// <summary>The buffer ∂E/∂parameter, the parameter's shape flattened.</summary>
        public Span<float> Span => Target.Buffer.AsSpan();

        /// <summary>Whether this is the parameter's only use, so that its gradient is this stage's alone.</summary>
        public bool Only => Target.Uses == 1;

        /// <summary>Hands the buffer to the parameter as its <see cref="Tensor.Grad"/>, where the optimizer reads it.</summary>
        public void Publish() => Target.Parameter.Grad = Target.Buffer;
    }

    /// <summary>The gradient buffers of the plan's parameters while it is compiled: one per distinct tensor.</summary>
    private sealed class Gradients
    {
        private readonly Dictionary<Tensor, ParameterGradient> targets = new(ReferenceEqualityComparer.Instance);
        private readonly List<GradientUse> uses = [];

        /// <summary>A use of <paramref name="parameter"/> by the next stage (stages ask in forward order).</summary>
        public GradientUse For(Tensor parameter)
        {
            if (!targets.TryGetValue(parameter, out var target)) targets[parameter] = target = new ParameterGradient(parameter);
            var use = new GradientUse(target);
            target.Uses++;
            uses.Add(use);
            return use;
        }

        /// <summary>
        /// Allocates the buffers and marks every use but the last in forward order (the first in backward order) of
        /// each parameter to accumulate.
        /// </summary>
        public void Finish()
        {
            foreach (var target in targets.Values) target.Allocate();
            var written = new HashSet<ParameterGradient>(ReferenceEqualityComparer.Instance);
            for (int i = uses.Count - 1; i >= 0; i--) uses[i].Accumulate = !written.Add(uses[i].Target);
        }
    }

    /// <summary>
    /// The first stage that has a parameter to train now, or the stage count when none has: the stages before it
    /// need no backward, since nothing under them trains (a frozen backbone costs its forward pass only).
    /// </summary>
    private int FirstTrainingStage()
    {
        for (int i = 0; i < stages.Length; i++)
            if (stages[i].HasTrainableParameters) return i;
        return stages.Length;
    }
}
