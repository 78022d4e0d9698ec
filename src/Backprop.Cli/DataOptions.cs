using Backprop.Data;

namespace Backprop.Cli;

/// <summary>Loads the dataset named by <c>--dataset NAME</c> or <c>--data FILE.csv --target COLUMN</c>.</summary>
internal static class DataOptions
{
    public const string Help =
        "  --dataset NAME       built-in data: " + "iris (default), xor, and, or, spirals, circles, moons\n" +
        "  --data FILE.csv      a CSV file with a header row (instead of --dataset)\n" +
        "  --target COLUMN      the CSV column to predict (required with --data)\n" +
        "  --task classify|regress  how to read the target column (default: classes if any label is not a number\n                       or all are whole numbers with at most 20 distinct values)\n";

    public static readonly string[] ValueOptions = ["dataset", "data", "target", "task"];

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
        var name = cl.String("dataset") ?? fallbackDataset ?? throw new UsageException("give --dataset NAME or --data FILE.csv --target COLUMN.");
        return Datasets.ByName(name, seed);
    }
}
