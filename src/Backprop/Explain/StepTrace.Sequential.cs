using System.Globalization;
using Backprop.Nn;

namespace Backprop.Explain;

public sealed partial class StepTrace
{
    /// <summary>
    /// Explains one step of <paramref name="model"/> on (<paramref name="x"/>, <paramref name="y"/>) under the seeds'
    /// loss <c>E = 1/(2N)·Σ(O_out − Y)²</c>, naming the matrices as
    /// <see cref="ForModel(Tensor, Tensor, IReadOnlyList{TraceLayer})"/> does.
    /// </summary>
    /// <param name="model">
    /// Dense layers, each followed by at most one activation module (none means identity); nested Sequentials are
    /// flattened. The model's own parameters are copied, so its weights and gradients stay as they were.
    /// </param>
    /// <param name="x">[rows, inputs].</param>
    /// <param name="y">[rows, outputs].</param>
    /// <exception cref="ArgumentException">A module other than Dense or an activation, or two activations in a row.</exception>
    public static StepTrace ForModel(Sequential model, Tensor x, Tensor y)
    {
        ArgumentNullException.ThrowIfNull(model);
        return ForModel(x, y, LayersOf(model));
    }

    /// <summary>The model as (weight, bias, activation) triples, in order.</summary>
    internal static List<TraceLayer> LayersOf(Sequential model)
    {
        var layers = new List<TraceLayer>();
        bool activated = false;   // whether the last layer already has its activation
        int index = 0;
        foreach (var (_, module) in Sequential.Leaves(model))
        {
            index++;
            switch (module)
            {
                case Dense dense:
                    layers.Add(new TraceLayer(dense.Weight, dense.Bias, "identity"));
                    activated = false;
                    break;
                case Activation act when layers.Count > 0 && !activated:
                    string name = act is LeakyRelu leaky ? "leaky_relu:" + leaky.Slope.ToString(CultureInfo.InvariantCulture) : act.Name;
                    layers[^1] = layers[^1] with { Activation = name };
                    activated = true;
                    break;
                case Activation act:
                    throw new ArgumentException(
                        $"StepTrace: module {index} ({act}) must follow a Dense layer; a trace explains Dense layers each followed by at most one activation.",
                        nameof(model));
                default:
                    throw new ArgumentException(
                        $"StepTrace: module {index} is {module}; a trace explains Dense layers each followed by at most one activation.",
                        nameof(model));
            }
        }
        if (layers.Count == 0) throw new ArgumentException("StepTrace: the model has no Dense layer to explain.", nameof(model));
        return layers;
    }
}
