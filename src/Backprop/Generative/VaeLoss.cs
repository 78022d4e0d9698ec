namespace Backprop.Generative;

/// <summary>
/// The VAE's pieces as engine ops (autograd supplies the gradients): the reparameterised sample, the KL term and the
/// negative ELBO with a Bernoulli likelihood, each summed over a sample's values and averaged over the batch, so the
/// numbers are nats per example (PyTorch's <c>examples/vae</c> sums over the batch too, and reports per example).
/// </summary>
public static class VaeLoss
{
    /// <summary>z = μ + exp(½·log σ²)·ε: a sample of N(μ, σ²) through which gradients reach μ and log σ².</summary>
    /// <exception cref="ShapeMismatchException">The three shapes differ.</exception>
    public static Tensor Reparameterize(Tensor mu, Tensor logVar, Tensor eps)
    {
        Same(mu, logVar, "log σ²");
        Same(mu, eps, "ε");
        return mu + (logVar * 0.5f).Exp() * eps;
    }

    /// <summary>
    /// KL(q(z | x) ‖ N(0, I)) = −½·Σ_j (1 + log σ²_j − μ_j² − σ²_j) per example, averaged over the batch [N, latent]:
    /// a scalar. ∂/∂μ = μ/N, ∂/∂log σ² = ½·(σ² − 1)/N.
    /// </summary>
    public static Tensor KlDivergence(Tensor mu, Tensor logVar)
    {
        Same(mu, logVar, "log σ²");
        int n = mu.Rank == 0 ? 1 : mu.Shape[0];
        return (1f + logVar - mu * mu - logVar.Exp()).Sum() * (-0.5f / n);
    }

    /// <summary>
    /// −Σ_i [x_i·ln p_i + (1 − x_i)·ln(1 − p_i)] per example, averaged over the batch: the Bernoulli negative
    /// log-likelihood of the data <paramref name="target"/> (values in [0, 1]) under the decoder's probabilities
    /// <paramref name="probabilities"/>; each log is clamped at −100 as PyTorch's <c>binary_cross_entropy</c>.
    /// </summary>
    public static Tensor BinaryCrossEntropySum(Tensor probabilities, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentNullException.ThrowIfNull(target);
        Same(probabilities, target, "the target");
        int n = probabilities.Rank == 0 ? 1 : probabilities.Shape[0];
        var logP = probabilities.Log().Clamp(-100f, float.MaxValue);
        var log1mP = (1f - probabilities).Log().Clamp(-100f, float.MaxValue);
        return (target * logP + (1f - target) * log1mP).Sum() * (-1f / n);
    }

    /// <summary>The negative ELBO of one sampled pass: reconstruction (BCE, summed per example) + KL, each per example.</summary>
    public static (Tensor Loss, Tensor Reconstruction, Tensor Kl) NegativeElbo(VaeOutput output, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(output);
        var reconstruction = BinaryCrossEntropySum(output.Reconstruction, target);
        var kl = KlDivergence(output.Mu, output.LogVar);
        return (reconstruction + kl, reconstruction, kl);
    }

    private static void Same(Tensor a, Tensor b, string what)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (!a.Shape.SequenceEqual(b.Shape))
            throw new ShapeMismatchException($"vae: expected {what} of the shape {Shapes.Format([.. a.Shape])} but got {Shapes.Format([.. b.Shape])}.");
    }
}
