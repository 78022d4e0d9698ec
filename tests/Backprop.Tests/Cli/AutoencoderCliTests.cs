using System.Text.Json;
using Backprop.Generative;
using Backprop.IO;

namespace Backprop.Tests.Cli;

/// <summary>
/// <c>backprop train --task reconstruct</c> (and <c>--model convae</c> / <c>vae</c>) on a tiny Fashion-MNIST-shaped
/// folder of IDX files (8×8 images), then <c>evaluate</c> and <c>predict</c> of the saved model; the real data is not needed.
/// </summary>
public sealed class AutoencoderCliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-ae-cli-").FullName;

    public AutoencoderCliTests()
    {
        var rng = new Random(3);
        byte[] Images(int n)
        {
            var b = new byte[n * 64];
            for (int i = 0; i < n; i++)
            {
                int at = rng.Next(4);
                for (int p = 0; p < 64; p++)
                    b[i * 64 + p] = (byte)((p / 8 / 4 * 2 + p % 8 / 4) == at ? 220 + rng.Next(30) : rng.Next(30));
            }
            return b;
        }
        WriteIdx("train-images-idx3-ubyte.gz", [96, 8, 8], Images(96));
        WriteIdx("train-labels-idx1-ubyte.gz", [96], new byte[96]);
        WriteIdx("t10k-images-idx3-ubyte.gz", [32, 8, 8], Images(32));
        WriteIdx("t10k-labels-idx1-ubyte.gz", [32], new byte[32]);
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string P(string name) => Path.Combine(dir, name);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static JsonElement Json(string stdout) => JsonDocument.Parse(stdout).RootElement;

    [Fact]
    public void A_conv_autoencoder_trains_reports_saves_and_evaluates()
    {
        var (code, stdout, stderr) = Run("train", "--dataset", "mnist", "--data-dir", dir, "--model", "convae:channels=4", "--epochs", "3",
            "--batch", "16", "--save", P("ae.safetensors"), "--report", P("report"), "--json");
        Assert.True(code == 0, stderr);
        var r = Json(stdout);
        Assert.Equal(3, r.GetProperty("epochs").GetInt32());
        Assert.Equal(32, r.GetProperty("test_rows").GetInt32());
        double mse = r.GetProperty("test_mse").GetDouble();
        Assert.InRange(mse, 1e-4, 0.3);
        Assert.Equal(JsonValueKind.Null, r.GetProperty("test_kl").ValueKind);
        Assert.Contains("train   adam lr 0.0010, MSE per pixel, batch 16, 3 epochs, seed 1", stderr);
        Assert.Contains("ConvTranspose2d(8→4, 3×3, stride 2, pad 1, output pad 1)", stderr);
        Assert.Contains("\nengine  compiled step\n", stderr.ReplaceLineEndings("\n"));
        Assert.Equal("compiled", r.GetProperty("engine").GetString());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("engine_reason").ValueKind);
        Assert.Contains("<h2>Reconstructions</h2>", File.ReadAllText(P("report/index.html")));

        var (_, info) = ModelFile.Load(P("ae.safetensors"));
        Assert.Equal("reconstruction_mse", info.Loss);
        Assert.Null(info.InputMean);   // pixels stay in [0, 1]

        var (evalCode, evalOut, evalErr) = Run("evaluate", "--model", P("ae.safetensors"), "--dataset", "mnist", "--data-dir", dir, "--json");
        Assert.True(evalCode == 0, evalErr);
        Assert.Equal(mse, Json(evalOut).GetProperty("mse").GetDouble(), 6);
        Assert.Equal(32, Json(evalOut).GetProperty("rows").GetInt32());
    }

    [Fact]
    public void A_vae_trains_with_both_terms_reported_and_its_report_draws_the_latent_plane()
    {
        var (code, stdout, stderr) = Run("train", "--dataset", "mnist", "--data-dir", dir, "--model", "vae:latent=2,hidden=32", "--epochs", "2",
            "--save", P("vae.safetensors"), "--report", P("vreport"));
        Assert.True(code == 0, stderr);
        Assert.Matches(@"test    test_loss \d+\.\d{4} \(bce \d+\.\d{4} \+ kl \d+\.\d{4} per image\)  test_mse 0\.\d{4}  \(32 images\)", stdout);
        Assert.Contains("BCE summed per image + KL (−ELBO per image)", stdout);
        Assert.Contains("engine  autograd graph (a VAE's objective (BCE + KL with z sampled) is not in the compiled step)", stdout);
        string html = File.ReadAllText(P("vreport/index.html"));
        Assert.Contains("<h2>Samples</h2>", html);
        Assert.Contains("<h2>Latent plane</h2>", html);

        var (evalCode, evalOut, _) = Run("evaluate", "--model", P("vae.safetensors"), "--dataset", "mnist", "--data-dir", dir);
        Assert.Equal(0, evalCode);
        Assert.Matches(@"mnist-t10k: 32 images  test_loss \d+\.\d{4} \(bce", evalOut);
    }

    [Fact]
    public void Predict_writes_one_reconstructed_value_per_pixel()
    {
        var trained = Run("train", "--dataset", "mnist", "--data-dir", dir, "--task", "reconstruct", "--model", "convae:channels=2", "--epochs", "1",
            "--save", P("ae.safetensors"), "--engine", "graph");
        Assert.Equal(0, trained.Code);
        Assert.Contains("engine  autograd graph (--engine graph)", trained.Out);
        File.WriteAllText(P("rows.csv"), string.Join(",", Enumerable.Range(0, 64).Select(i => $"px{i}")) + "\n" + string.Join(",", Enumerable.Repeat("0.5", 64)) + "\n");
        var (code, stdout, stderr) = Run("predict", "--model", P("ae.safetensors"), "--data", P("rows.csv"));
        Assert.True(code == 0, stderr);
        var lines = stdout.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.EndsWith(",prediction_63", lines[0]);
        Assert.Equal(128, lines[1].Split(',').Length);
    }

    [Theory]
    [InlineData("--model", "vae:latent=0", "backprop train: --model: vae option 'latent' needs a whole number ≥ 1, e.g. latent=2, but got '0' (in 'vae:latent=0').")]
    [InlineData("--model", "convae", "backprop train: error: convae needs images [C, H, W] with H and W multiples of 4")]
    public void Bad_models_are_errors_that_say_what_is_expected(string option, string value, string message)
    {
        // convae on 6×6 images: rewrite the folder with images whose sides are not multiples of 4.
        if (message.Contains("multiples of 4", StringComparison.Ordinal))
        {
            WriteIdx("train-images-idx3-ubyte.gz", [4, 6, 6], new byte[4 * 36]);
            WriteIdx("train-labels-idx1-ubyte.gz", [4], new byte[4]);
            WriteIdx("t10k-images-idx3-ubyte.gz", [2, 6, 6], new byte[2 * 36]);
            WriteIdx("t10k-labels-idx1-ubyte.gz", [2], new byte[2]);
        }
        var (code, _, stderr) = Run("train", "--dataset", "mnist", "--data-dir", dir, option, value, "--save", P("x.safetensors"));
        Assert.NotEqual(0, code);
        Assert.StartsWith(message, stderr.Split('\n')[0]);
    }

    [Fact]
    public void A_spec_that_does_not_give_back_the_image_is_refused_before_training()
    {
        // 4 channels of 4×4 are 64 values, as many as the 8×8 input, but not the image.
        var (code, stdout, stderr) = Run("train", "--dataset", "mnist", "--data-dir", dir, "--task", "reconstruct", "--model", "conv(4,3,stride=2,pad=1)", "--save", P("x.safetensors"));
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal("backprop train: error: a model trained to reconstruct its input must give back [N, 64] or [N, 1, 8, 8], " +
            "but Sequential(Reshape(1×8×8) → Conv2d(1→4, 3×3, stride 2, pad 1)) gives [N, 4, 4, 4].\n", stderr);
    }

    [Fact]
    public void Summary_expands_the_presets()
    {
        var (code, stdout, _) = Run("summary", "--model", "convae", "--input", "1x28x28");
        Assert.Equal(0, code);
        Assert.Contains("ConvTranspose2d(32→16, 3×3, stride 2, pad 1, output pad 1)  [N, 16, 14, 14]   4,624    451,584", stdout);
        Assert.Contains("9,569 parameters", stdout);
        (code, stdout, _) = Run("summary", "--model", "vae:latent=2", "--input", "784");
        Assert.Equal(0, code);
        Assert.Contains("631,188 parameters", stdout);   // PyTorch's example VAE with a 2-D latent
    }

    [Fact]
    public void A_train_option_an_autoencoder_does_not_take_is_named_with_the_ones_it_does()
    {
        var (code, stdout, stderr) = Run("train", "--dataset", "mnist", "--data-dir", dir, "--model", "convae", "--log-every", "1");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal("backprop train: unknown option '--log-every' for an autoencoder (--task reconstruct), which takes --dataset, " +
            "--data-dir, --task, --model, --epochs, --batch, --lr, --seed, --limit, --save, --report, --engine and --json, and prints every epoch.", stderr.Split('\n')[0]);
    }

    [Fact]
    public void Reconstruction_needs_an_image_dataset()
    {
        var (code, _, stderr) = Run("train", "--dataset", "iris", "--task", "reconstruct");
        Assert.NotEqual(0, code);
        Assert.Equal("backprop train: --task reconstruct trains on images: give --dataset fashion-mnist (apt-get install dataset-fashion-mnist) or --dataset mnist --data-dir DIR.", stderr.Split('\n')[0]);
    }

    private void WriteIdx(string name, int[] shape, byte[] data) => GzippedIdx.Write(P(name), shape, data);
}
