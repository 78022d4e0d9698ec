namespace Backprop.Data;

/// <summary>
/// Built-in datasets: Fisher's Iris (embedded, read through <see cref="CsvDataset"/>) and small generated sets for
/// experiments and tests. Every call returns a new dataset with its own storage.
/// </summary>
public static partial class Datasets
{
    private const string IrisResource = "Backprop.Data.iris.csv";

    /// <summary>The names <see cref="ByName"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["iris", "xor", "and", "or", "spirals", "circles", "moons"];

    /// <summary>
    /// A built-in dataset by name (case-insensitive), with each generator's default size and noise:
    /// iris, xor, and, or, spirals, circles, moons. <paramref name="seed"/> only affects the generated sets.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Names"/>.</exception>
    public static Dataset ByName(string name, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "iris" => Iris(),
            "xor" => Xor(),
            "and" => And(),
            "or" => Or(),
            "spirals" => Spirals(seed: seed),
            "circles" => Circles(seed: seed),
            "moons" => Moons(seed: seed),
            _ => throw new ArgumentException(
                $"Unknown dataset '{name}'; expected one of: {string.Join(", ", Names)}.", nameof(name)),
        };
    }

    /// <summary>
    /// Fisher's Iris: 150 flowers, 50 of each class <c>setosa</c>, <c>versicolor</c>, <c>virginica</c> (0, 1, 2),
    /// described by <c>sepal_length</c>, <c>sepal_width</c>, <c>petal_length</c>, <c>petal_width</c> in cm.
    /// Rows are in the classic UCI order (grouped by class).
    /// </summary>
    /// <remarks>
    /// The values are the copy distributed with scikit-learn (<c>load_iris</c>), which carries the two corrections
    /// to the UCI file that Fisher's paper supports: row 35 is 4.9,3.1,1.5,0.2 and row 38 is 4.9,3.6,1.4,0.1.
    /// </remarks>
    public static Dataset Iris()
    {
        using var stream = typeof(Datasets).Assembly.GetManifestResourceStream(IrisResource)
            ?? throw new InvalidOperationException($"The embedded resource '{IrisResource}' is missing from the Backprop assembly.");
        using var reader = new StreamReader(stream);
        return CsvDataset.Load(reader, "iris.csv", "species", classification: true, name: "iris");
    }
}
