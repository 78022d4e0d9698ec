using System.Globalization;
using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>A layer without parameters that applies a function elementwise (or along the last axis).</summary>
public abstract class Activation : Module
{
    /// <summary>The activation's name as used on the command line and in model files (e.g. <c>tanh</c>).</summary>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new() { ["type"] = Name };

    /// <inheritdoc/>
    public override string ToString() => Name switch
    {
        "sigmoid" => "Sigmoid", "tanh" => "Tanh", "relu" => "ReLU", "softmax" => "Softmax", "log_softmax" => "LogSoftmax",
        "identity" => "Identity", "gelu" => "GELU", "gelu_tanh" => "GELU(tanh)", "silu" => "SiLU",
        _ => Name,
    };

    /// <summary>
    /// Creates an activation by name: sigmoid, tanh, relu, leaky_relu (optionally <c>leaky_relu:0.2</c>), softmax,
    /// log_softmax, identity, gelu, gelu_tanh (GELU's tanh approximation), silu.
    /// </summary>
    public static Activation Create(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var parts = name.Trim().ToLowerInvariant().Split(':', 2);
        if (parts.Length == 2 && parts[0] is not ("leaky_relu" or "leakyrelu"))
            throw new ArgumentException($"unknown activation '{name}'; only leaky_relu takes a parameter (leaky_relu:0.2). Expected one of {string.Join(", ", Names)}.");
        return parts[0] switch
        {
            "sigmoid" => new Sigmoid(),
            "tanh" => new Tanh(),
            "relu" => new Relu(),
            "leaky_relu" or "leakyrelu" => parts.Length == 2 && float.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var s)
                ? new LeakyRelu(s) : parts.Length == 2
                    ? throw new ArgumentException($"leaky_relu slope '{parts[1]}' is not a number.")
                    : new LeakyRelu(),
            "softmax" => new Softmax(),
            "log_softmax" => new LogSoftmax(),
            "identity" or "linear" or "none" => new Identity(),
            "gelu" => new Gelu(),
            "gelu_tanh" => new Gelu(approximateTanh: true),
            "silu" => new Silu(),
            _ => throw new ArgumentException($"unknown activation '{name}'; expected one of {string.Join(", ", Names)}."),
        };
    }

    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["sigmoid", "tanh", "relu", "leaky_relu", "softmax", "log_softmax", "identity", "gelu", "gelu_tanh", "silu"];

    /// <summary>
    /// The fused kernels' name for <paramref name="module"/>'s function (with leaky ReLU's slope), or null when the
    /// module is not one of the built-in activations. The inference and training plans both read it.
    /// </summary>
    internal static (Kernels.ActivationKind Kind, float Slope)? KernelKind(Module module) => module switch
    {
        Identity => (Kernels.ActivationKind.Identity, 0f),
        Relu => (Kernels.ActivationKind.Relu, 0f),
        LeakyRelu l => (Kernels.ActivationKind.LeakyRelu, l.Slope),
        Sigmoid => (Kernels.ActivationKind.Sigmoid, 0f),
        Tanh => (Kernels.ActivationKind.Tanh, 0f),
        Softmax => (Kernels.ActivationKind.Softmax, 0f),
        _ => null,
    };
}

/// <summary>σ(x) = 1/(1+e⁻ˣ), elementwise.</summary>
public sealed class Sigmoid : Activation
{
    /// <inheritdoc/>
    public override string Name => "sigmoid";
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Sigmoid();
}

/// <summary>tanh x, elementwise.</summary>
public sealed class Tanh : Activation
{
    /// <inheritdoc/>
    public override string Name => "tanh";
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Tanh();
}

/// <summary>max(0, x), elementwise.</summary>
public sealed class Relu : Activation
{
    /// <inheritdoc/>
    public override string Name => "relu";
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Relu();
}

/// <summary>x for x &gt; 0, else slope·x.</summary>
public sealed class LeakyRelu(float slope = 0.01f) : Activation
{
    /// <summary>The slope for negative inputs.</summary>
    public float Slope { get; } = slope;
    /// <inheritdoc/>
    public override string Name => "leaky_relu";
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.LeakyRelu(Slope);
    /// <inheritdoc/>
    public override JsonObject ToSpec() => new() { ["type"] = Name, ["slope"] = Slope };
    /// <inheritdoc/>
    public override string ToString() => $"LeakyReLU({Slope.ToString(CultureInfo.InvariantCulture)})";
}

/// <summary>Softmax along the last axis: turns scores into probabilities that sum to 1 per row.</summary>
public sealed class Softmax : Activation
{
    /// <inheritdoc/>
    public override string Name => "softmax";
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Softmax(-1);
}

/// <summary>
/// log softmax along the last axis: z − log Σ e^z per row, the log-probabilities that <see cref="Losses.Nll"/> and
/// <see cref="Losses.KLDiv"/> take (computed stably, not as the log of a softmax that may underflow to 0).
/// </summary>
public sealed class LogSoftmax : Activation
{
    /// <inheritdoc/>
    public override string Name => "log_softmax";
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.LogSoftmax(-1);
}

/// <summary>The identity: passes its input through unchanged.</summary>
public sealed class Identity : Activation
{
    /// <inheritdoc/>
    public override string Name => "identity";
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input;
}
