using System.Globalization;
using Backprop.Nn;

namespace Backprop.Explain;

/// <summary>
/// An activation a step trace can name, applied through the autograd engine, with its delta written the way the
/// seeds write it (σ' as <c>A ⊙ (1 − A)</c>) for the formula shown beside each matrix. Names as in
/// <c>Backprop.Nn.Activation.Create</c>: sigmoid, tanh, relu, leaky_relu (or <c>leaky_relu:0.2</c>), softmax, log_softmax,
/// identity, gelu, gelu_tanh, silu.
/// </summary>
internal sealed record ActivationByName(Activation Module)
{
    /// <summary>The activation's name, e.g. <c>sigmoid</c>.</summary>
    public string Name => Module.Name;

    /// <summary>The negative slope of leaky_relu (unused by the others).</summary>
    public float Slope => Module is LeakyRelu leaky ? leaky.Slope : 0.01f;

    /// <summary>Reads a name through <see cref="Activation.Create"/>; errors are prefixed with <paramref name="where"/>.</summary>
    public static ActivationByName Parse(string name, string where)
    {
        ArgumentNullException.ThrowIfNull(name);
        try
        {
            return new ActivationByName(Activation.Create(name));
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{where}: {e.Message}", nameof(name), e);
        }
    }

    /// <summary>f(z) through the engine; identity returns <paramref name="z"/> itself (no graph node).</summary>
    public Tensor Apply(Tensor z) => Module.Forward(z);

    /// <summary>The function applied to a named matrix, e.g. <c>sigmoid(H_in)</c>.</summary>
    public string Formula(string input) => Name == "identity" ? input : $"{Name}({input})";

    /// <summary>
    /// The delta of a layer from its error E (= N·∂E/∂output), input Z and output A, e.g.
    /// <c>H_error ⊙ H_out ⊙ (1 − H_out)</c>. Softmax mixes a row's outputs, so its delta is not elementwise.
    /// </summary>
    public string Delta(string error, string input, string output) => Name switch
    {
        "sigmoid" => $"{error} ⊙ {output} ⊙ (1 − {output})",
        "tanh" => $"{error} ⊙ (1 − {output}²)",
        "relu" => $"{error} ⊙ [{input} > 0]",
        "leaky_relu" => $"{error} ⊙ ([{input} > 0] + {Slope.ToString(CultureInfo.InvariantCulture)}·[{input} ≤ 0])",
        "softmax" => $"{output} ⊙ ({error} − Σ_cols({error} ⊙ {output}))",
        "log_softmax" => $"{error} − exp({output}) ⊙ Σ_cols({error})",
        "gelu" or "gelu_tanh" or "silu" => $"{error} ⊙ {Name}'({input})",
        _ => error,
    };
}
