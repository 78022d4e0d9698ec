namespace Backprop.Data;

public static partial class Datasets
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package puts the files.</summary>
    public const string FashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The ten Fashion-MNIST classes, by label.</summary>
    public static IReadOnlyList<string> FashionMnistClasses { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// Fashion-MNIST (or MNIST, given its directory): 60,000 training or 10,000 test images of 28×28 pixels scaled to
    /// [0, 1], flattened to 784 features, with 10 classes.
    /// </summary>
    /// <param name="train">True for the training set, false for the test set.</param>
    /// <param name="directory">Folder holding <c>train-images-idx3-ubyte(.gz)</c> and the other three files.</param>
    /// <param name="classNames">Class names (default: Fashion-MNIST's when the folder name says fashion, else the digits).</param>
    /// <exception cref="FileNotFoundException">The files are missing; the message says how to install them.</exception>
    public static Dataset Mnist(bool train, string directory = FashionMnistDirectory, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string prefix = train ? "train" : "t10k";
        string images = Find(directory, $"{prefix}-images-idx3-ubyte");
        string labels = Find(directory, $"{prefix}-labels-idx1-ubyte");
        var (imageShape, pixels) = IdxFile.Read(images);
        var (labelShape, classes) = IdxFile.Read(labels);
        if (imageShape.Length != 3 || labelShape.Length != 1 || imageShape[0] != labelShape[0])
            throw new DataFormatException($"{images}: expected images [n, rows, cols] and labels [n] but got [{string.Join(",", imageShape)}] and [{string.Join(",", labelShape)}].", images);

        int n = imageShape[0], features = imageShape[1] * imageShape[2];
        var x = new float[pixels.Length];
        for (int i = 0; i < x.Length; i++) x[i] = pixels[i] / 255f;
        var y = new float[n];
        for (int i = 0; i < n; i++) y[i] = classes[i];
        classNames ??= directory.Contains("fashion", StringComparison.OrdinalIgnoreCase)
            ? FashionMnistClasses
            : [.. Enumerable.Range(0, 10).Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        var names = Enumerable.Range(0, features).Select(i => $"px{i}").ToArray();
        string name = directory.Contains("fashion", StringComparison.OrdinalIgnoreCase) ? "fashion-mnist" : "mnist";
        // The tensors take the fresh arrays as they are: a copy of the 188 MB of training images would double the peak.
        return new Dataset(new Tensor([n, features], x), new Tensor([n], y), names, classNames, $"{name}-{prefix}")
            .WithSampleShape(1, imageShape[1], imageShape[2]);
    }

    private static string Find(string directory, string stem)
    {
        foreach (var candidate in new[] { stem + ".gz", stem })
        {
            var path = Path.Combine(directory, candidate);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException(
            $"'{Path.Combine(directory, stem)}(.gz)' was not found. Fashion-MNIST is packaged by Debian: " +
            "sudo apt-get install dataset-fashion-mnist (files land in " + FashionMnistDirectory + "); " +
            "for MNIST or another copy, pass the folder holding the four IDX files.", Path.Combine(directory, stem + ".gz"));
    }
}
