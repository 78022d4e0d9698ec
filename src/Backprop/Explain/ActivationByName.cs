using System.Globalization;

namespace Backprop.Explain;

/// <summary>
/// An activation a step trace can name, applied through the autograd engine, with its delta written the way the
/// seeds write it (σ' as <c>A ⊙ (1 − A)</c>) for the formula shown beside each matrix. Names as in
/// <c>Backprop.Nn.Activation.Create</c>: sigmoid, tanh, relu, leaky_relu (or <c>leaky_relu:0.2</c>), softmax, identity.
/// </summary>
internal sealed record ActivationByName(string Name, float Slope)
{
    /// <summary>Names accepted by <see cref="Parse"/>, for error messages.</summary>
    public static readonly string[] Known = ["sigmoid", "tanh", "relu", "leaky_relu", "softmax", "identity"];

    /// <summary>Reads a name; "linear" and "none" mean identity. Throws listing the known names.</summary>
    public static ActivationByName Parse(string name, string where)
    {
        ArgumentNullException.ThrowIfNull(name);
        var parts = name.Trim().ToLowerInvariant().Split(':', 2);
        string n = parts[0] is "linear" or "none" ? "identity" : parts[0] is "leakyrelu" ? "leaky_relu" : parts[0];
        if (Array.IndexOf(Known, n) < 0 || (parts.Length == 2 && n != "leaky_relu"))
            throw new ArgumentException($"{where}: unknown activation '{name}'; expected one of {string.Join(", ", Known)}.", nameof(name));
        float slope = 0.01f;
        if (parts.Length == 2 && !float.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out slope))
            throw new ArgumentException($"{where}: leaky_relu slope '{parts[1]}' is not a number.", nameof(name));
        return new ActivationByName(n, slope);
    }

    /// <summary>f(z) through the engine; identity returns <paramref name="z"/> itself (no graph node).</summary>
    public Tensor Apply(Tensor z) => Name switch
    {
        "sigmoid" => z.Sigmoid(),
        "tanh" => z.Tanh(),
        "relu" => z.Relu(),
        "leaky_relu" => z.LeakyRelu(Slope),
        "softmax" => z.Softmax(-1),
        _ => z,
    };

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
        _ => error,
    };
}
