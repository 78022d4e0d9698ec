using System.Globalization;

namespace Backprop.Nn;

/// <summary>Builds multi-layer perceptrons: Dense → activation → ... → Dense.</summary>
public static class Mlp
{
    /// <summary>
    /// <c>Dense(inputs→h₁) → act → Dense(h₁→h₂) → act → ... → Dense(→outputs)</c>, optionally followed by an output
    /// activation (e.g. sigmoid for binary cross-entropy on probabilities).
    /// </summary>
    public static Sequential Create(int inputs, IReadOnlyList<int> hidden, int outputs, string activation = "tanh",
        string? outputActivation = null, Rng? rng = null, Initializer? init = null)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        var layers = new List<Module>();
        int width = inputs;
        foreach (var h in hidden)
        {
            layers.Add(new Dense(width, h, init: init, rng: rng));
            layers.Add(Activation.Create(activation));
            width = h;
        }
        layers.Add(new Dense(width, outputs, init: init, rng: rng));
        if (outputActivation is not null && outputActivation != "identity") layers.Add(Activation.Create(outputActivation));
        return new Sequential([.. layers]);
    }

    /// <summary>
    /// Parses the command line's model shorthand: <c>mlp:64,32</c> (hidden sizes), <c>mlp</c> or <c>mlp:</c> (no hidden
    /// layer: a linear model).
    /// </summary>
    public static int[] ParseHidden(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var s = spec.Trim();
        if (!s.StartsWith("mlp", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"model '{spec}' is not understood; expected mlp:H1,H2,... (hidden layer sizes), e.g. mlp:64,32.");
        if (s.Length == 3) return [];   // 'mlp' alone: no hidden layer, a linear model
        if (s[3] != ':')
            throw new ArgumentException($"model '{spec}' is not understood; expected mlp:H1,H2,... (hidden layer sizes), e.g. mlp:64,32.");
        var rest = s[4..];
        if (rest.Trim().Length == 0)
            throw new ArgumentException($"model '{spec}' has no hidden sizes after the colon; write e.g. mlp:64,32, or 'mlp' alone for a linear model.");
        return rest.Split(',').Select(part =>
            int.TryParse(part.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var h) && h > 0
                ? h
                : throw new ArgumentException($"model '{spec}': hidden size '{part}' is not a positive whole number.")).ToArray();
    }
}
