using System.Text.Json.Nodes;
using Backprop.Explain;
using Backprop.Generative;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Tests.Golden;
using Backprop.Training;

namespace Backprop.Tests.Generative;

/// <summary>
/// The VAE: its KL term, reparameterised sample, summed BCE and negative ELBO against PyTorch (Golden/torch_vae.json,
/// tools/make_vae_reference.py); the sampled path through a whole VAE against finite differences; specs and model files.
/// </summary>
public sealed class VaeTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-vae-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in TorchReference.Vae) data.Add(c.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_pytorch_values_and_gradients(string name)
    {
        var c = TorchReference.Vae.Single(c => c.Name == name);
        GoldenAssert.MatchesTorch(c, (c, x) => c.Op switch
        {
            "kl" => VaeLoss.KlDivergence(x[0], x[1]),
            "reparameterize" => VaeLoss.Reparameterize(x[0], x[1], x[2]),
            "bce_sum" => VaeLoss.BinaryCrossEntropySum(x[0], x[1]),
            "bce_sum_sigmoid" => VaeLoss.BinaryCrossEntropySum(x[0].Sigmoid(), x[1]),
            // A linear decoder z·W stands in for the network, as in the generator.
            "negative_elbo" => VaeLoss.NegativeElbo(new VaeOutput(VaeLoss.Reparameterize(x[0], x[1], x[2]).MatMul(x[3]).Sigmoid(), x[0], x[1]), x[4]).Loss,
            var op => throw new InvalidOperationException($"unknown op {op}"),
        });
    }

    [Fact]
    public void Every_piece_has_a_reference_case() =>
        Assert.Superset(new HashSet<string> { "kl", "reparameterize", "bce_sum", "negative_elbo" }, TorchReference.Vae.Select(c => c.Op).ToHashSet());

    [Fact]
    public void The_kl_term_is_zero_at_the_prior()
    {
        Assert.Equal(0f, VaeLoss.KlDivergence(Tensor.Zeros(5, 3), Tensor.Zeros(5, 3)).Item(), 6);
        // One example, one latent: μ = 1, log σ² = 0 gives ½·μ² = 0.5.
        Assert.Equal(0.5f, VaeLoss.KlDivergence(Tensor.Ones(1, 1), Tensor.Zeros(1, 1)).Item(), 6);
    }

    [Fact]
    public void The_reparameterised_path_through_a_whole_vae_matches_finite_differences()
    {
        var vae = Vae.Mlp(features: 6, hidden: 5, latent: 2, new Rng(3));
        var x = Tensor.RandomUniform([4, 6], new Rng(4));
        // The same ε on every evaluation: a fresh generator with the same seed per call.
        var result = GradCheck.Check(p => VaeLoss.NegativeElbo(vae.ForwardSampled(x, new Rng(9)), x).Loss, [.. vae.Parameters()]);
        Assert.True(result.WorstRelativeError < 1e-2, result.ToString());
    }

    [Fact]
    public void Gradients_reach_mu_and_log_variance_through_the_sample()
    {
        var mu = Tensor.RandomNormal([3, 2], new Rng(1)).RequireGrad();
        var logVar = Tensor.RandomNormal([3, 2], new Rng(2)).RequireGrad();
        var eps = Tensor.RandomNormal([3, 2], new Rng(5));
        var result = GradCheck.Check(t => (VaeLoss.Reparameterize(t[0], t[1], eps) * VaeLoss.Reparameterize(t[0], t[1], eps)).Sum(), [mu, logVar]);
        Assert.True(result.WorstRelativeError < 1e-2, result.ToString());
    }

    [Fact]
    public void Sampling_is_reproducible_from_the_seed_and_forward_decodes_the_mean()
    {
        var vae = Vae.Mlp(8, 6, 3, new Rng(1));
        var x = Tensor.RandomUniform([2, 8], new Rng(2));
        Assert.Equal(vae.ForwardSampled(x, new Rng(7)).Reconstruction.ToArray(), vae.ForwardSampled(x, new Rng(7)).Reconstruction.ToArray());
        Assert.NotEqual(vae.ForwardSampled(x, new Rng(7)).Reconstruction.ToArray(), vae.ForwardSampled(x, new Rng(8)).Reconstruction.ToArray());
        Assert.Equal(vae.Decode(vae.Encode(x).Mu).ToArray(), vae.Forward(x).ToArray());
    }

    [Fact]
    public void Parameters_are_named_by_part_and_a_model_file_restores_the_vae()
    {
        var vae = Vae.Mlp(8, 6, 2, new Rng(1));
        Assert.Equal(["encoder.0.weight", "encoder.0.bias", "mu.weight", "mu.bias", "log_var.weight", "log_var.bias",
                      "decoder.0.weight", "decoder.0.bias", "decoder.2.weight", "decoder.2.bias"], vae.NamedParameters().Select(p => p.Name));
        var path = Path.Combine(dir, "vae.safetensors");
        vae.Save(path);
        var (loaded, _) = ModelFile.Load(path);
        var x = Tensor.RandomUniform([3, 8], new Rng(2));
        Assert.IsType<Vae>(loaded);
        Assert.Equal(vae.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        Assert.Equal(vae.ToString(), loaded.ToString());
        Assert.Equal(vae.ToSpec().ToJsonString(), ModuleSpec.Create(JsonNode.Parse(vae.ToSpec().ToJsonString())).ToSpec().ToJsonString());
    }

    [Fact]
    public void Wrong_shapes_name_what_was_expected()
    {
        var vae = Vae.Mlp(8, 6, 2, new Rng(1));
        Assert.StartsWith("Vae(latent 2;", Assert.Throws<ShapeMismatchException>(() => vae.Decode(Tensor.Zeros(4, 3))).Message);
        Assert.EndsWith("decodes latents [N, 2] but got [4,3].", Assert.Throws<ShapeMismatchException>(() => vae.Decode(Tensor.Zeros(4, 3))).Message);
        Assert.Equal("vae: expected log σ² of the shape [2,3] but got [3,2].",
            Assert.Throws<ShapeMismatchException>(() => VaeLoss.KlDivergence(Tensor.Zeros(2, 3), Tensor.Zeros(3, 2))).Message);
        Assert.Equal("Vae: the μ head Dense(4→2) and the log σ² head Dense(4→3) must have the same shape.",
            Assert.Throws<ArgumentException>(() => new Vae(new Identity(), new Dense(4, 2), new Dense(4, 3), new Identity())).Message);
    }
}
