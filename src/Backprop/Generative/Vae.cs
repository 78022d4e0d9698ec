using System.Globalization;
using System.Text.Json.Nodes;
using Backprop.Nn;

namespace Backprop.Generative;

/// <summary>
/// A variational autoencoder (Kingma and Welling, 2014): an encoder to features h, two linear heads to the mean μ and
/// the log-variance log σ² of a diagonal Gaussian q(z | x) over a latent z [N, latent], and a decoder from z back to
/// the input's space (probabilities per pixel, for a Bernoulli likelihood).
/// </summary>
/// <remarks>
/// <para>Training draws z = μ + σ·ε with ε ~ N(0, I) from a given generator (<see cref="ForwardSampled"/>, the
/// reparameterisation that lets gradients reach μ and σ); <see cref="VaeLoss"/> scores it. <see cref="Module.Forward(Tensor)"/>
/// is the deterministic reconstruction decode(μ), what <c>predict</c> and <c>evaluate</c> use; <see cref="Decode"/>
/// turns any z (samples from N(0, I), a grid over the latent plane) into images.</para>
/// <para>Parameters are named <c>encoder.*</c>, <c>mu.*</c>, <c>log_var.*</c>, <c>decoder.*</c>.</para>
/// </remarks>
public sealed class Vae : Module
{
    private readonly Module encoder;
    private readonly Dense mu;
    private readonly Dense log_var;
    private readonly Module decoder;

    /// <summary>A VAE from its parts: the encoder's output [N, F] feeds both heads [F → latent].</summary>
    /// <exception cref="ArgumentException">The heads differ in shape.</exception>
    public Vae(Module encoder, Dense mu, Dense logVar, Module decoder)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(mu);
        ArgumentNullException.ThrowIfNull(logVar);
        ArgumentNullException.ThrowIfNull(decoder);
        if (mu.InFeatures != logVar.InFeatures || mu.OutFeatures != logVar.OutFeatures)
            throw new ArgumentException($"Vae: the μ head {mu} and the log σ² head {logVar} must have the same shape.");
        this.encoder = encoder;
        this.mu = mu;
        log_var = logVar;
        this.decoder = decoder;
    }

    /// <summary>
    /// The multilayer VAE of PyTorch's example (<c>examples/vae</c>): encoder Dense(features → hidden)-ReLU, heads
    /// Dense(hidden → latent), decoder Dense(latent → hidden)-ReLU-Dense(hidden → features)-Sigmoid.
    /// </summary>
    public static Vae Mlp(int features, int hidden, int latent, Rng? rng = null)
    {
        if (features < 1 || hidden < 1 || latent < 1)
            throw new ArgumentException($"Vae: features {features}, hidden {hidden} and latent {latent} must all be at least 1.");
        rng ??= Init.DefaultRng;
        return new Vae(new Sequential(new Dense(features, hidden, rng: rng), new Relu()),
            new Dense(hidden, latent, rng: rng), new Dense(hidden, latent, rng: rng),
            new Sequential(new Dense(latent, hidden, rng: rng), new Relu(), new Dense(hidden, features, rng: rng), new Sigmoid()));
    }

    /// <summary>The encoder before the two heads.</summary>
    public Module Encoder => encoder;

    /// <summary>The decoder from z.</summary>
    public Module Decoder => decoder;

    /// <summary>The size of z.</summary>
    public int Latent => mu.OutFeatures;

    /// <summary>μ and log σ², each [N, latent], of q(z | x).</summary>
    public (Tensor Mu, Tensor LogVar) Encode(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var h = encoder.Forward(input);
        return (mu.Forward(h), log_var.Forward(h));
    }

    /// <summary>The decoder's output for latents <paramref name="z"/> [N, latent].</summary>
    /// <exception cref="ShapeMismatchException">z is not [N, latent].</exception>
    public Tensor Decode(Tensor z)
    {
        ArgumentNullException.ThrowIfNull(z);
        if (z.Rank != 2 || z.Shape[1] != Latent)
            throw new ShapeMismatchException($"{this} decodes latents [N, {Latent}] but got {Shapes.Format([.. z.Shape])}.");
        return decoder.Forward(z);
    }

    /// <summary>The deterministic reconstruction decode(μ(x)).</summary>
    public override Tensor Forward(Tensor input) => Decode(Encode(input).Mu);

    /// <summary>
    /// One training pass: μ, log σ² = encode(x); z = μ + exp(½·log σ²)·ε with ε ~ N(0, I) drawn from
    /// <paramref name="rng"/>; the reconstruction decode(z).
    /// </summary>
    public VaeOutput ForwardSampled(Tensor input, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var (m, logVar) = Encode(input);
        var eps = Tensor.RandomNormal([.. m.Shape], rng);
        return new VaeOutput(Decode(VaeLoss.Reparameterize(m, logVar, eps)), m, logVar);
    }

    /// <inheritdoc/>
    public override JsonObject ToSpec() => new()
    {
        ["type"] = "Vae", ["encoder"] = encoder.ToSpec(), ["mu"] = mu.ToSpec(), ["log_var"] = log_var.ToSpec(), ["decoder"] = decoder.ToSpec(),
    };

    /// <summary>Rebuilds a VAE from the spec <see cref="ToSpec"/> writes.</summary>
    internal static Vae FromSpec(JsonObject o)
    {
        Module Part(string key) => ModuleSpec.Create(o[key] ?? throw new FormatException($"Vae spec has no \"{key}\"."));
        Dense Head(string key) => Part(key) as Dense ?? throw new FormatException($"Vae spec's \"{key}\" must be a Dense layer.");
        return new Vae(Part("encoder"), Head("mu"), Head("log_var"), Part("decoder"));
    }

    /// <inheritdoc/>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"Vae(latent {Latent}; encoder {encoder}; decoder {decoder})");
}

/// <summary>What <see cref="Vae.ForwardSampled"/> computes.</summary>
/// <param name="Reconstruction">decode(z), the input's shape.</param>
/// <param name="Mu">μ [N, latent].</param>
/// <param name="LogVar">log σ² [N, latent].</param>
public sealed record VaeOutput(Tensor Reconstruction, Tensor Mu, Tensor LogVar);
