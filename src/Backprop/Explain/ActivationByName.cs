namespace Backprop.Explain;

/// <summary>
/// The activations a step trace can name, applied through the autograd engine, with the local derivative written
/// the way the seeds write it (σ' as <c>A ⊙ (1 − A)</c>), for the formulas shown beside each matrix.
/// </summary>
internal static class ActivationByName
{
    /// <summary>Names accepted by <see cref="Apply"/>, for error messages.</summary>
    public static readonly string[] Known = ["sigmoid", "tanh", "relu", "identity"];

    /// <summary>Canonical lower-case name; "linear" and "none" mean identity. Throws listing the known names.</summary>
    public static string Normalize(string name, string where)
    {
        ArgumentNullException.ThrowIfNull(name);
        var n = name.Trim().ToLowerInvariant();
        if (n is "linear" or "none") n = "identity";
        if (Array.IndexOf(Known, n) < 0)
            throw new ArgumentException(
                $"{where}: unknown activation '{name}'; expected one of {string.Join(", ", Known)}.", nameof(name));
        return n;
    }

    /// <summary>f(z) through the engine; identity returns <paramref name="z"/> itself (no graph node).</summary>
    public static Tensor Apply(string normalizedName, Tensor z) => normalizedName switch
    {
        "sigmoid" => z.Sigmoid(),
        "tanh" => z.Tanh(),
        "relu" => z.Relu(),
        _ => z,
    };

    /// <summary>The function applied to a named matrix, e.g. <c>sigmoid(H_in)</c>.</summary>
    public static string Formula(string normalizedName, string input) =>
        normalizedName == "identity" ? input : $"{normalizedName}({input})";

    /// <summary>f'(Z) written from the layer's input Z and output A, e.g. <c>H_out ⊙ (1 − H_out)</c>.</summary>
    public static string Derivative(string normalizedName, string input, string output) => normalizedName switch
    {
        "sigmoid" => $"{output} ⊙ (1 − {output})",
        "tanh" => $"(1 − {output}²)",
        "relu" => $"[{input} > 0]",
        _ => "1",
    };
}
