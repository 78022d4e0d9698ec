using Backprop.Data;

namespace Backprop.Cli;

/// <summary>Loads the dataset named by <c>--dataset NAME</c> or <c>--data FILE.csv --target COLUMN</c>.</summary>
internal static class DataOptions
{
    public const string Help =
        "  --dataset NAME       built-in data: " + "iris (default), xor, and, or, spirals, circles, moons;\n" +
        "                       fashion-mnist (apt-get install dataset-fashion-mnist) or mnist --data-dir DIR\n" +
        "  --data-dir DIR       folder of the IDX files for fashion-mnist / mnist\n" +
        "  --data FILE.csv      a CSV file with a header row (instead of --dataset)\n" +
        "  --target COLUMN      the CSV column to predict (required with --data)\n" +
        "  --task classify|regress  how to read the target column (default: classes if any label is not a number\n                       or all are whole numbers with at most 20 distinct values)\n";

    public static readonly string[] ValueOptions = ["dataset", "data", "target", "task", "data-dir"];

    /// <summary>
    /// For the image datasets, their official train and test sets; for everything else, null (the caller splits).
    /// </summary>
    public static (Dataset Train, Dataset Test)? LoadPredefinedSplit(CommandLine cl, string? fallbackDataset = null) =>
        ImageDirectory(cl, fallbackDataset) is { } dir ? (Datasets.Mnist(train: true, dir), Datasets.Mnist(train: false, dir)) : null;

    /// <summary>The folder of the IDX files when the dataset is fashion-mnist or mnist, else null.</summary>
    private static string? ImageDirectory(CommandLine cl, string? fallbackDataset)
    {
        var name = cl.Has("data") ? null : cl.String("dataset") ?? fallbackDataset;
        if (name is not ("fashion-mnist" or "mnist")) return null;
        return cl.String("data-dir") ?? (name == "fashion-mnist" ? Datasets.FashionMnistDirectory
            : throw new UsageException("--dataset mnist needs --data-dir DIR (the folder holding the four MNIST IDX files)."));
    }

    public static Dataset Load(CommandLine cl, int seed, string? fallbackDataset = "iris")
    {
        var file = cl.String("data");
        if (file is not null)
        {
            if (cl.Has("dataset")) throw new UsageException("give either --dataset or --data, not both.");
            var target = cl.String("target") ?? throw new UsageException("--data needs --target COLUMN (the column to predict).");
            bool? classification = cl.String("task") switch
            {
                null => null,
                "classify" or "classification" => true,
                "regress" or "regression" => false,
                var t => throw new UsageException($"--task must be classify or regress but got '{t}'."),
            };
            return CsvDataset.Load(file, target, classification);
        }
        if (cl.Has("target")) throw new UsageException("--target goes with --data FILE.csv.");
        // Only the test split: the 60,000 training images would be 188 MB read and thrown away.
        if (ImageDirectory(cl, fallbackDataset) is { } dir) return Datasets.Mnist(train: false, dir);
        var name = cl.String("dataset") ?? fallbackDataset ?? throw new UsageException("give --dataset NAME or --data FILE.csv --target COLUMN.");
        if (!Datasets.Names.Contains(name.ToLowerInvariant()))
            throw new ArgumentException($"unknown dataset '{name}'; expected one of: {string.Join(", ", Datasets.Names)}, fashion-mnist, mnist (with --data-dir).");
        return Datasets.ByName(name, seed);
    }
}
