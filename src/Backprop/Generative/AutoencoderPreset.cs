using System.Globalization;
using Backprop.Nn;

namespace Backprop.Generative;

/// <summary>
/// The autoencoder presets of <c>--model</c>: <c>convae[:channels=16]</c>, a convolutional autoencoder, and
/// <c>vae[:latent=2,hidden=400]</c>, PyTorch's example VAE. Both read rows of pixels [N, F] and give [N, F] in [0, 1].
/// </summary>
/// <remarks>
/// <c>convae:channels=c</c> on images [C, H, W] (H, W multiples of 4) is the model-language text
/// <c>conv(c,3,stride=2,pad=1)-relu-conv(2c,3,stride=2,pad=1)-relu-convtranspose(c,3,stride=2,pad=1,outpad=1)-relu-convtranspose(C,3,stride=2,pad=1,outpad=1)-sigmoid-flatten</c>:
/// two stride-2 convolutions down to [2c, H/4, W/4], two stride-2 transposed convolutions back up, a sigmoid for pixel
/// values and a flatten so that the output rows match the input rows.
/// </remarks>
public sealed class AutoencoderPreset
{
    private AutoencoderPreset(string kind, IReadOnlyDictionary<string, int> options)
    {
        Kind = kind;
        Options = options;
    }

    /// <summary><c>convae</c> or <c>vae</c>.</summary>
    public string Kind { get; }

    /// <summary>The options given, by name.</summary>
    public IReadOnlyDictionary<string, int> Options { get; }

    /// <summary>Whether <paramref name="spec"/> names an autoencoder preset (<c>convae</c> or <c>vae</c>, with or without options).</summary>
    public static bool IsPreset(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var kind = spec.Trim().Split(':', 2)[0].Trim().ToLowerInvariant();
        return kind is "convae" or "vae";
    }

    /// <summary>Reads <c>convae[:channels=c]</c> or <c>vae[:latent=l,hidden=h]</c>.</summary>
    /// <exception cref="FormatException">An unknown kind or option, a repeated option, or a value that is not a whole number ≥ 1.</exception>
    public static AutoencoderPreset Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var parts = spec.Trim().Split(':', 2);
        var kind = parts[0].Trim().ToLowerInvariant();
        string[] allowed = kind switch
        {
            "convae" => ["channels"],
            "vae" => ["latent", "hidden"],
            _ => throw new FormatException($"'{spec}' is not an autoencoder preset; expected convae[:channels=16] or vae[:latent=2,hidden=400]."),
        };
        var options = new Dictionary<string, int>();
        if (parts.Length == 2)
            foreach (var item in parts[1].Split(',', StringSplitOptions.TrimEntries))
            {
                int eq = item.IndexOf('=', StringComparison.Ordinal);
                string name = (eq < 0 ? item : item[..eq]).Trim().ToLowerInvariant(), value = eq < 0 ? "" : item[(eq + 1)..].Trim();
                if (!allowed.Contains(name))
                    throw new FormatException($"{kind} has no option '{name}' (in '{spec}'); its options are {string.Join(", ", allowed)}.");
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1)
                    throw new FormatException($"{kind} option '{name}' needs a whole number ≥ 1, e.g. {name}={(name == "hidden" ? 400 : 2)}, but got '{value}' (in '{spec}').");
                if (!options.TryAdd(name, n)) throw new FormatException($"{kind} option '{name}' is given twice (in '{spec}').");
            }
        return new AutoencoderPreset(kind, options);
    }

    /// <summary>convae: channels of the first convolution (default 16; the second has twice as many).</summary>
    public int Channels => Options.GetValueOrDefault("channels", 16);

    /// <summary>vae: size of the latent z (default 2, so that the latent plane can be drawn).</summary>
    public int Latent => Options.GetValueOrDefault("latent", 2);

    /// <summary>vae: width of the hidden layers (default 400, as PyTorch's example).</summary>
    public int Hidden => Options.GetValueOrDefault("hidden", 400);

    /// <summary>The preset as text with every option, e.g. <c>vae:latent=2,hidden=400</c>.</summary>
    public override string ToString() => Kind == "convae" ? $"convae:channels={Channels}" : $"vae:latent={Latent},hidden={Hidden}";

    /// <summary>The model-language text of <c>convae</c> for images of <paramref name="sampleShape"/> [C, H, W].</summary>
    /// <exception cref="ArgumentException">Not a convae preset, or the images are not [C, H, W] with H and W multiples of 4.</exception>
    public string ConvSpec(IReadOnlyList<int> sampleShape)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (Kind != "convae") throw new InvalidOperationException($"{this} is not a convolutional autoencoder.");
        if (sampleShape.Count != 3 || sampleShape[1] % 4 != 0 || sampleShape[2] % 4 != 0)
            throw new ArgumentException($"convae needs images [C, H, W] with H and W multiples of 4 (two stride-2 steps down and back up) but the data's examples are {ModelLanguage.FormatShape(sampleShape)}.");
        int c = Channels;
        return $"conv({c},3,stride=2,pad=1)-relu-conv({2 * c},3,stride=2,pad=1)-relu-convtranspose({c},3,stride=2,pad=1,outpad=1)-relu-" +
               $"convtranspose({sampleShape[0]},3,stride=2,pad=1,outpad=1)-sigmoid-flatten";
    }

    /// <summary>Builds the model for examples of <paramref name="sampleShape"/> (rows of their product of pixels).</summary>
    public Module Build(IReadOnlyList<int> sampleShape, Rng? rng = null)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        return Kind == "convae"
            ? ModelLanguage.Build(ConvSpec(sampleShape), sampleShape, rng)
            : Vae.Mlp(sampleShape.Aggregate(1, (a, d) => a * d), Hidden, Latent, rng);
    }
}
