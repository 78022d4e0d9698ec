using Backprop.Data;

namespace Backprop.Cli;

/// <summary>
/// <c>train --data TRAIN.csv --test-data TEST.csv</c>: a test set given as its own file instead of drawn from the data,
/// so that another tool (tools/compare-sklearn.py) can score the very same rows.
/// </summary>
internal static class TestDataOption
{
    public const string Help =
        "  --test-data FILE.csv the test rows as a file of their own, with the columns of --data (instead of --test-split)\n";

    /// <summary>Both files when <c>--test-data</c> is given, the test set's classes numbered as the training set's; else null.</summary>
    public static (Dataset Train, Dataset Test)? Load(CommandLine cl, int seed)
    {
        if (cl.String("test-data") is not { } file) return null;
        if (!cl.Has("data")) throw new UsageException("--test-data goes with --data FILE.csv (the training rows).");
        if (cl.Has("test-split")) throw new UsageException("give either --test-data or --test-split, not both.");
        var train = DataOptions.Load(cl, seed);
        var test = CsvDataset.Load(file, cl.String("target")!, train.IsClassification);
        if (!test.FeatureNames.SequenceEqual(train.FeatureNames))
            throw new ArgumentException($"{file} has the feature columns ({string.Join(", ", test.FeatureNames)}) but the training data has ({string.Join(", ", train.FeatureNames)}); they must match in name and order.");
        if (!train.IsClassification) return (train, test);

        // Class indices follow each file's own sorted labels: renumber the test labels by name to the training set's.
        var index = train.ClassNames!.Select((name, c) => (name, c)).ToDictionary(p => p.name, p => p.c, StringComparer.Ordinal);
        var labels = test.Targets.AsSpan();
        var renumbered = new float[labels.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            string name = test.ClassNames![(int)labels[i]];
            renumbered[i] = index.TryGetValue(name, out int c) ? c
                : throw new ArgumentException($"{file}: row {i + 1} has the class '{name}', which the training data does not hold (its classes: {string.Join(", ", train.ClassNames!)}).");
        }
        return (train, new Dataset(test.Features, Tensor.FromArray(renumbered), test.FeatureNames, train.ClassNames, test.Name));
    }
}
