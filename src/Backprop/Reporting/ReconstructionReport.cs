using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Backprop.Generative;
using Backprop.Nn;
using static Backprop.Reporting.Html;

namespace Backprop.Reporting;

/// <summary>
/// The report of an autoencoder or VAE on its test images, as one self-contained HTML page and a JSON file: the test
/// scores, the loss per epoch, test images beside their reconstructions and, for a <see cref="Vae"/>, images decoded
/// from samples z ~ N(0, I) and, when the latent is 2-D, a grid decoded over the latent plane.
/// </summary>
public sealed class ReconstructionReport
{
    private const int Pairs = 24, PairColumns = 12, SampleCount = 64, GridSize = 15;
    private const float GridExtent = 2.5f;

    private ReconstructionReport(Tensor inputs, Tensor reconstructions, Tensor? samples, Tensor? latentGrid, IReadOnlyList<int> imageShape)
    {
        Inputs = inputs;
        Reconstructions = reconstructions;
        Samples = samples;
        LatentGrid = latentGrid;
        ImageShape = imageShape;
    }

    /// <summary>
    /// Decodes what the report shows: the first test images [≤ 24, F] and their deterministic reconstructions; for a VAE,
    /// 64 samples from N(0, I) (drawn from a generator seeded by <paramref name="seed"/>) and, for a 2-D latent, a
    /// 15×15 grid over z ∈ [−2.5, 2.5]² (rows from top z₂ = 2.5 down, columns z₁ from −2.5 right).
    /// </summary>
    /// <exception cref="ArgumentException">The images are not [N, F] with F = the product of <paramref name="imageShape"/>.</exception>
    public static ReconstructionReport Create(Module model, Tensor testImages, IReadOnlyList<int> imageShape, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(testImages);
        ArgumentNullException.ThrowIfNull(imageShape);
        int f = imageShape.Aggregate(1, (a, d) => a * d);
        if (testImages.Rank != 2 || testImages.Shape[1] != f || testImages.Shape[0] < 1)
            throw new ArgumentException($"ReconstructionReport: expected test images [N, {f}] for images {Shapes.Format([.. imageShape])} but got {Shapes.Format([.. testImages.Shape])}.");
        using var inference = InferenceMode.Enter();
        using var noGrad = GradMode.NoGrad();
        int n = Math.Min(Pairs, testImages.Shape[0]);
        var inputs = Tensor.FromArray(testImages.AsSpan()[..(n * f)].ToArray(), n, f);
        var reconstructions = model.Forward(inputs).Reshape(n, f);
        Tensor? samples = null, grid = null;
        if (model is Vae vae)
        {
            samples = vae.Decode(Tensor.RandomNormal([SampleCount, vae.Latent], new Rng(seed))).Reshape(SampleCount, f);
            if (vae.Latent == 2)
            {
                var z = new float[GridSize * GridSize * 2];
                for (int row = 0; row < GridSize; row++)
                    for (int col = 0; col < GridSize; col++)
                    {
                        z[(row * GridSize + col) * 2] = -GridExtent + 2 * GridExtent * col / (GridSize - 1);
                        z[(row * GridSize + col) * 2 + 1] = GridExtent - 2 * GridExtent * row / (GridSize - 1);
                    }
                grid = vae.Decode(Tensor.FromArray(z, GridSize * GridSize, 2)).Reshape(GridSize * GridSize, f);
            }
        }
        return new ReconstructionReport(inputs, reconstructions.Detach(), samples?.Detach(), grid?.Detach(), imageShape);
    }

    /// <summary>The test images shown [n, F].</summary>
    public Tensor Inputs { get; }

    /// <summary>Their reconstructions [n, F].</summary>
    public Tensor Reconstructions { get; }

    /// <summary>VAE: images decoded from z ~ N(0, I) [64, F]; else null.</summary>
    public Tensor? Samples { get; }

    /// <summary>VAE with a 2-D latent: images decoded over the latent plane [15·15, F], row-major from the top left; else null.</summary>
    public Tensor? LatentGrid { get; }

    /// <summary>One image's shape, e.g. [1, 28, 28].</summary>
    public IReadOnlyList<int> ImageShape { get; }

    /// <summary>The page's heading.</summary>
    public string Title { get; set; } = "Reconstruction report";

    /// <summary>The test scores, or null.</summary>
    public ReconstructionScore? Test { get; set; }

    /// <summary>Per-epoch losses of the run (empty for a saved model evaluated on its own).</summary>
    public IReadOnlyList<ReconstructionEpoch> Epochs { get; set; } = [];

    /// <summary>Lines of run configuration for the header, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Config { get; set; } = [];

    /// <summary>Writes <c>index.html</c> and <c>report.json</c> into <paramref name="directory"/> and returns the HTML file's path.</summary>
    public string Write(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory.CreateDirectory(directory);
        TrainingReport.WriteAtomically(Path.Combine(directory, "report.json"), ToJson());
        var html = Path.Combine(directory, "index.html");
        TrainingReport.WriteAtomically(html, ToHtml());
        return html;
    }

    /// <summary>The scores, epochs and configuration as JSON.</summary>
    public string ToJson()
    {
        var o = new JsonObject
        {
            ["title"] = Title,
            ["test"] = Test is not { } t ? null : new JsonObject
            {
                ["loss"] = t.Loss, ["mse"] = t.Mse, ["reconstruction"] = t.Reconstruction, ["kl"] = t.Kl, ["count"] = t.Count,
            },
            ["epochs"] = new JsonArray([.. Epochs.Select(e => (JsonNode)new JsonObject
            {
                ["epoch"] = e.Epoch, ["train_loss"] = e.TrainLoss, ["test_loss"] = e.Test?.Loss, ["test_mse"] = e.Test?.Mse,
                ["test_reconstruction"] = e.Test?.Reconstruction, ["test_kl"] = e.Test?.Kl, ["samples_per_s"] = e.SamplesPerSecond,
            })]),
            ["config"] = new JsonObject([.. Config.Select(c => KeyValuePair.Create(c.Key, (JsonNode?)c.Value))]),
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>The report as one self-contained HTML page.</summary>
    public string ToHtml()
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append($"<title>{Escape(Title)}</title>\n<style>{TrainingReport.Css} .tiles img {{ image-rendering: pixelated; background: #808080; }}</style>\n</head>\n<body>\n");
        sb.Append($"<header>\n<h1>{Escape(Title)}</h1>\n<div class=\"cards\">");
        if (Test is { } t)
        {
            Card(sb, "test MSE", Metric(t.Mse), "per pixel, of the reconstruction");
            if (t.Reconstruction is { } r) Card(sb, "test BCE", Metric(r), "summed per image");
            if (t.Kl is { } kl) Card(sb, "test KL", Metric(kl), "per image");
            if (t.Reconstruction is not null) Card(sb, "test −ELBO", Metric(t.Loss), "BCE + KL per image");
        }
        if (Epochs.Count > 0) Card(sb, "epochs", Epochs.Count.ToString(CultureInfo.InvariantCulture), null);
        sb.Append("</div>\n");
        ConfigTable(sb, Config);
        sb.Append("</header>\n");
        if (Epochs.Count > 0)
        {
            var x = Epochs.Select(e => e.Epoch).ToList();
            var series = new List<ChartSeries> { new("train", [.. Epochs.Select(e => (double?)e.TrainLoss)], "#2563eb") };
            if (Epochs.Any(e => e.Test is not null)) series.Add(new("test", [.. Epochs.Select(e => e.Test?.Loss)], "#d97706", Dashed: true));
            sb.Append("<section>\n<h2>Training curve</h2>\n<div class=\"row\">");
            sb.Append(SvgLineChart.Render("Loss per epoch", "epoch", Test?.Reconstruction is null ? "MSE" : "−ELBO per image", x, series));
            sb.Append("</div>\n</section>\n");
        }

        // Input and reconstruction on alternate lines: each test image sits right above its reconstruction.
        int n = Inputs.Shape[0], f = Inputs.Shape[1], columns = Math.Min(PairColumns, n);
        var paired = new float[2 * n * f];
        for (int line = 0, k = 0; line * columns < n; line++)
        {
            int first = line * columns, count = Math.Min(columns, n - first);
            Inputs.AsSpan().Slice(first * f, count * f).CopyTo(paired.AsSpan(k));
            k += columns * f;
            Reconstructions.AsSpan().Slice(first * f, count * f).CopyTo(paired.AsSpan(k));
            k += columns * f;
        }
        int filled = ((n + columns - 1) / columns) * 2 * columns;
        Tiles(sb, "Reconstructions", $"The first {n} test images (odd lines) above their reconstructions (even lines); black 0, white 1.",
            paired.AsSpan(0, Math.Min(paired.Length, filled * f)), columns);
        if (Samples is not null)
            Tiles(sb, "Samples", $"Decoded from {Samples.Shape[0]} draws z ~ N(0, I).", Samples.AsSpan(), 8);
        if (LatentGrid is not null)
            Tiles(sb, "Latent plane", $"Decoded over a {GridSize}×{GridSize} grid of z ∈ [−{GridExtent.ToString(CultureInfo.InvariantCulture)}, {GridExtent.ToString(CultureInfo.InvariantCulture)}]²: z₁ grows to the right, z₂ upwards.",
                LatentGrid.AsSpan(), GridSize);
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    private void Tiles(StringBuilder sb, string heading, string note, ReadOnlySpan<float> values, int columns)
    {
        var (uri, width, height) = ImageTiles.Grid(values, ImageShape, columns);
        sb.Append($"<section class=\"tiles\">\n<h2>{Escape(heading)}</h2>\n<p class=\"muted\">{Escape(note)}</p>\n");
        sb.Append($"<img src=\"{uri}\" width=\"{width * 2}\" height=\"{height * 2}\" alt=\"{Escape(heading)}\">\n</section>\n");
    }
}
