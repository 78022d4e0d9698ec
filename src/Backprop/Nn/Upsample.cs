using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// Upsamples images [N, C, H, W] → [N, C, H·scale, W·scale] by a whole scale factor (PyTorch's
/// <c>nn.Upsample(scale_factor=scale, mode="nearest")</c>, or <c>mode="bilinear", align_corners=False</c>); no
/// parameters. See <see cref="Tensor.Upsample2d(int, UpsampleMode)"/>.
/// </summary>
public sealed class Upsample : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="scale">The whole factor by which height and width grow.</param>
    /// <param name="mode">Nearest (default) or bilinear.</param>
    public Upsample(int scale, UpsampleMode mode = UpsampleMode.Nearest)
    {
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, $"Upsample: the scale factor must be a whole number ≥ 1 but got {scale}.");
        if (mode is not (UpsampleMode.Nearest or UpsampleMode.Bilinear))
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "Upsample: the mode must be nearest or bilinear.");
        Scale = scale;
        Mode = mode;
    }

    /// <summary>The factor by which height and width grow.</summary>
    public int Scale { get; }

    /// <summary>How new pixels are filled.</summary>
    public UpsampleMode Mode { get; }

    /// <inheritdoc/>
    /// <exception cref="ShapeMismatchException">The input is not [N, C, H, W].</exception>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4)
            throw new ShapeMismatchException($"{this} expected input [N, C, H, W] but got {Shapes.Format([.. input.Shape])}.");
        return input.Upsample2d(Scale, Mode);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new() { ["type"] = "Upsample", ["scale"] = Scale, ["mode"] = ModeName };

    /// <summary>"nearest" or "bilinear", as PyTorch and the model language spell it.</summary>
    public string ModeName => Mode == UpsampleMode.Nearest ? "nearest" : "bilinear";

    /// <summary>The mode a name spells, or null for another name.</summary>
    public static UpsampleMode? ParseMode(string name) => name switch
    {
        "nearest" => UpsampleMode.Nearest,
        "bilinear" => UpsampleMode.Bilinear,
        _ => null,
    };

    /// <inheritdoc/>
    public override string ToString() => $"Upsample(×{Scale}, {ModeName})";
}
