using Backprop.Generative;
using Backprop.Nn;
using Backprop.Reporting;

namespace Backprop.Tests.Generative;

/// <summary>The autoencoder presets, the reconstruction trainer and its report, on small synthetic images.</summary>
public sealed class ReconstructionTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-ae-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    // 8×8 images: a bright square at one of four places on a dark ground, plus a little noise (values in [0, 1]).
    internal static Tensor Squares(int n, int seed)
    {
        var rng = new Rng(seed);
        var x = new float[n * 64];
        for (int i = 0; i < n; i++)
        {
            int at = rng.NextInt(4), r0 = at / 2 * 4, c0 = at % 2 * 4;
            for (int p = 0; p < 64; p++)
            {
                int r = p / 8, c = p % 8;
                bool on = r >= r0 && r < r0 + 4 && c >= c0 && c < c0 + 4;
                x[i * 64 + p] = Math.Clamp((on ? 0.9f : 0.1f) + 0.05f * rng.NextNormal(), 0f, 1f);
            }
        }
        return Tensor.FromArray(x, n, 64);
    }

    [Fact]
    public void Convae_is_the_model_language_text_of_two_strided_convolutions_down_and_two_transposed_up()
    {
        var preset = AutoencoderPreset.Parse("convae:channels=4");
        Assert.Equal("conv(4,3,stride=2,pad=1)-relu-conv(8,3,stride=2,pad=1)-relu-convtranspose(4,3,stride=2,pad=1,outpad=1)-relu-convtranspose(1,3,stride=2,pad=1,outpad=1)-sigmoid-flatten",
            preset.ConvSpec([1, 28, 28]));
        var model = preset.Build([1, 28, 28], new Rng(1));
        Assert.Equal([784], ModelSummary.Of(model, [784]).OutputShape);
        Assert.Equal("convae:channels=16", AutoencoderPreset.Parse("convae").ToString());
        Assert.Equal("vae:latent=8,hidden=400", AutoencoderPreset.Parse("VAE:latent=8").ToString());
        Assert.IsType<Vae>(AutoencoderPreset.Parse("vae:hidden=16").Build([1, 8, 8]));
    }

    [Theory]
    [InlineData("convae:width=3", "convae has no option 'width' (in 'convae:width=3'); its options are channels.")]
    [InlineData("vae:latent=0", "vae option 'latent' needs a whole number ≥ 1, e.g. latent=2, but got '0' (in 'vae:latent=0').")]
    [InlineData("vae:latent=2,latent=3", "vae option 'latent' is given twice (in 'vae:latent=2,latent=3').")]
    [InlineData("gan", "'gan' is not an autoencoder preset; expected convae[:channels=16] or vae[:latent=2,hidden=400].")]
    public void Preset_errors_say_what_is_expected(string spec, string message) =>
        Assert.Equal(message, Assert.Throws<FormatException>(() => AutoencoderPreset.Parse(spec)).Message);

    [Fact]
    public void Convae_needs_image_sides_divisible_by_four()
    {
        var e = Assert.Throws<ArgumentException>(() => AutoencoderPreset.Parse("convae").Build([1, 6, 6]));
        Assert.Equal("convae needs images [C, H, W] with H and W multiples of 4 (two stride-2 steps down and back up) but the data's examples are [N, 1, 6, 6].", e.Message);
    }

    [Fact]
    public void An_autoencoder_learns_to_reconstruct_and_the_test_mse_is_the_mean_squared_pixel_error()
    {
        var train = Squares(256, 1);
        var test = Squares(64, 2);
        var model = AutoencoderPreset.Parse("convae:channels=4").Build([1, 8, 8], new Rng(1));
        var before = ReconstructionTrainer.Evaluate(model, test);
        var result = ReconstructionTrainer.Train(model, train, test, new ReconstructionOptions { Epochs = 15, Batch = 32, LearningRate = 1e-2f });
        Assert.Equal(15, result.Epochs.Count);
        var after = ReconstructionTrainer.Evaluate(model, test);
        Assert.True(after.Mse < before.Mse / 4, $"test MSE {before.Mse} → {after.Mse}");
        Assert.Equal(after.Mse, result.Epochs[^1].Test!.Mse, 6);
        Assert.Null(after.Kl);

        var y = model.Forward(test).ToArray();
        var x = test.ToArray();
        Assert.Equal(x.Zip(y, (a, b) => (double)(a - b) * (a - b)).Average(), after.Mse, 5);
        Assert.Equal(after.Mse, after.Loss, 5);   // an autoencoder's objective is its MSE
    }

    [Fact]
    public void A_vae_lowers_its_negative_elbo_and_reports_both_terms()
    {
        var train = Squares(256, 3);
        var test = Squares(64, 4);
        var vae = Vae.Mlp(64, 32, 2, new Rng(2));
        var before = ReconstructionTrainer.Evaluate(vae, test, seed: 5);
        ReconstructionTrainer.Train(vae, train, test, new ReconstructionOptions { Epochs = 10, Batch = 32, LearningRate = 3e-3f, Seed = 5 });
        var after = ReconstructionTrainer.Evaluate(vae, test, seed: 5);
        Assert.True(after.Loss < before.Loss - 5, $"−ELBO {before.Loss} → {after.Loss}");
        Assert.Equal(after.Reconstruction!.Value + after.Kl!.Value, after.Loss, 3);
        Assert.True(after.Kl > 0);
        // Evaluation draws ε from its own seeded generator: the same numbers twice.
        Assert.Equal(after, ReconstructionTrainer.Evaluate(vae, test, seed: 5));
    }

    [Fact]
    public void A_model_that_does_not_give_back_the_input_size_is_refused()
    {
        var model = ModelLanguage.Build("dense(10)", [64]);
        var e = Assert.Throws<ArgumentException>(() => ReconstructionTrainer.Train(model, Squares(8, 1), null, new ReconstructionOptions()));
        Assert.Equal("a model trained to reconstruct its input must give back 64 values per example, but Sequential(Dense(64→10)) gives [N, 10].", e.Message);
    }

    [Fact]
    public void The_report_shows_reconstructions_and_for_a_2d_vae_samples_and_the_latent_plane()
    {
        var test = Squares(30, 5);
        var ae = ReconstructionTrainer.Evaluate(AutoencoderPreset.Parse("convae:channels=2").Build([1, 8, 8], new Rng(1)), test);
        var aeReport = ReconstructionReport.Create(AutoencoderPreset.Parse("convae:channels=2").Build([1, 8, 8], new Rng(1)), test, [1, 8, 8]);
        aeReport.Test = ae;
        Assert.Equal([24, 64], aeReport.Reconstructions.Shape);
        Assert.Null(aeReport.Samples);
        string aeHtml = aeReport.ToHtml();
        Assert.Contains("<h2>Reconstructions</h2>", aeHtml);
        Assert.DoesNotContain("Latent plane", aeHtml);

        var vae = Vae.Mlp(64, 16, 2, new Rng(1));
        var report = ReconstructionReport.Create(vae, test, [1, 8, 8], seed: 3);
        report.Test = ReconstructionTrainer.Evaluate(vae, test);
        Assert.Equal([64, 64], report.Samples!.Shape);
        Assert.Equal([225, 64], report.LatentGrid!.Shape);
        // The grid's top-left tile decodes z = (−2.5, 2.5), its bottom-right z = (2.5, −2.5).
        Assert.Equal(vae.Decode(Tensor.FromArray([-2.5f, 2.5f], 1, 2)).ToArray(), report.LatentGrid.ToArray()[..64], (a, b) => Math.Abs(a - b) < 1e-6f);
        Assert.Equal(vae.Decode(Tensor.FromArray([2.5f, -2.5f], 1, 2)).ToArray(), report.LatentGrid.ToArray()[^64..], (a, b) => Math.Abs(a - b) < 1e-6f);
        var path = report.Write(dir);
        string html = File.ReadAllText(path);
        Assert.Contains("<h2>Samples</h2>", html);
        Assert.Contains("<h2>Latent plane</h2>", html);
        Assert.Contains("test KL", html);
        Assert.Contains("\"kl\":", File.ReadAllText(Path.Combine(dir, "report.json")));
        Assert.Null(ReconstructionReport.Create(Vae.Mlp(64, 16, 3, new Rng(1)), test, [1, 8, 8]).LatentGrid);
    }
}
