namespace Backprop.Data;

/// <summary>
/// A table of examples: features <c>[N, F]</c> and targets that are either class indices <c>[N]</c>
/// (classification) or real values <c>[N, K]</c> (regression).
/// </summary>
/// <remarks>
/// The tensors are held, not copied; methods that select rows (<see cref="Subset"/>, <see cref="Split"/>,
/// <see cref="Take"/>) return new datasets with their own storage. Class indices given as a float
/// <see cref="Tensor"/> are stored as floats (0, 1, 2, ..., exact up to 2²⁴); given as an <see cref="IntTensor"/> they
/// are held as integers (<see cref="IntTargets"/>, exact at any size), and cross_entropy and nll read them as such.
/// </remarks>
public sealed class Dataset
{
    private readonly string[] featureNames;
    private readonly IReadOnlyList<string>? classNames;
    private readonly IntTensor? intTargets;
    private int[]? sampleShape;
    private Tensor[] moreInputs = [];
    private Tensor[] moreTargets = [];

    /// <summary>
    /// Creates a dataset. Rank-1 <paramref name="targets"/> make it a classification set; rank-2 targets make it a
    /// regression set (a single real target is <c>[N, 1]</c>).
    /// </summary>
    /// <param name="features">Shape <c>[N, F]</c>.</param>
    /// <param name="targets">Shape <c>[N]</c> holding class indices 0..C−1, or <c>[N, K]</c> holding real values.</param>
    /// <param name="featureNames">F names; null gives <c>x0</c>, <c>x1</c>, ...</param>
    /// <param name="classNames">
    /// For classification, the C class names, index i naming class i; null gives <c>"0"</c>..<c>"C−1"</c> with
    /// C = largest index + 1. Must be null for regression.
    /// </param>
    /// <param name="name">A name for messages and reports.</param>
    public Dataset(Tensor features, Tensor targets, IReadOnlyList<string>? featureNames = null,
        IReadOnlyList<string>? classNames = null, string name = "dataset")
        : this(features, targets, null, featureNames, classNames, name)
    {
    }

    /// <summary>
    /// Creates a classification set whose class labels are held as integers, exact at any size (a float32 label is
    /// exact only up to 2²⁴ = 16,777,216): PyTorch's int64 targets. <c>Fit</c> and <c>Evaluate</c> give them to
    /// cross_entropy and nll as integers (<see cref="Nn.IClassIndexLoss"/>); <see cref="Targets"/> is their float copy.
    /// </summary>
    /// <param name="features">Shape <c>[N, F]</c>.</param>
    /// <param name="targets">Shape <c>[N]</c>, class indices 0..C−1.</param>
    /// <param name="featureNames">F names; null gives <c>x0</c>, <c>x1</c>, ...</param>
    /// <param name="classNames">The C class names, index i naming class i; null gives <c>"0"</c>..<c>"C−1"</c> with C = largest index + 1.</param>
    /// <param name="name">A name for messages and reports.</param>
    /// <exception cref="ArgumentException">A label is negative or not below the number of class names (the row and value are named).</exception>
    public Dataset(Tensor features, IntTensor targets, IReadOnlyList<string>? featureNames = null,
        IReadOnlyList<string>? classNames = null, string name = "dataset")
        : this(features, (targets ?? throw new ArgumentNullException(nameof(targets))).ToFloat(), targets, featureNames, classNames, name)
    {
    }

    // Every constructor and every row selection comes here; intTargets, when given, are the labels and targets their float copy.
    private Dataset(Tensor features, Tensor targets, IntTensor? intTargets, IReadOnlyList<string>? featureNames,
        IReadOnlyList<string>? classNames, string name)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(name);
        if (intTargets is not null && intTargets.Rank != 1)
            throw new ShapeMismatchException(
                $"Dataset '{name}': integer targets must be class indices of shape [N] (rank 1) but got {Shapes.Format(intTargets.dims)}.");
        if (features.Rank != 2)
            throw new ShapeMismatchException(
                $"Dataset '{name}': features must have shape [N, F] (rank 2) but got {Shapes.Format(features.dims)}.");
        int n = features.dims[0];
        if (targets.Rank is not (1 or 2))
            throw new ShapeMismatchException(
                $"Dataset '{name}': targets must have shape [N] (class indices) or [N, K] (regression) but got {Shapes.Format(targets.dims)}.");
        if (targets.dims[0] != n)
            throw new ShapeMismatchException(
                $"Dataset '{name}': features {Shapes.Format(features.dims)} have {n} rows but targets {Shapes.Format(targets.dims)} have {targets.dims[0]}.");

        int f = features.dims[1];
        if (featureNames is null)
        {
            this.featureNames = new string[f];
            for (int i = 0; i < f; i++) this.featureNames[i] = "x" + i;
        }
        else
        {
            if (featureNames.Count != f)
                throw new ArgumentException(
                    $"Dataset '{name}': features {Shapes.Format(features.dims)} have {f} columns but {featureNames.Count} feature names were given.",
                    nameof(featureNames));
            this.featureNames = [.. featureNames];
        }

        if (targets.Rank == 1)
            this.classNames = intTargets is null ? ValidateClasses(targets.data, classNames, name) : ValidateClasses(intTargets.data, classNames, name);
        else if (classNames is not null)
            throw new ArgumentException(
                $"Dataset '{name}': targets {Shapes.Format(targets.dims)} are regression values, so class names must be null " +
                "(class indices have shape [N]).", nameof(classNames));

        Features = features;
        Targets = targets;
        this.intTargets = intTargets;
        Name = name;
    }

    // Every target must be an integer in 0..C−1; C comes from the names or, without names, from the largest index.
    private static IReadOnlyList<string> ValidateClasses<T>(T[] labels, IReadOnlyList<string>? classNames, string name)
        where T : struct, System.Numerics.INumber<T>
    {
        long max = -1;
        for (int i = 0; i < labels.Length; i++)
        {
            T v = labels[i];
            if (!(v >= T.Zero) || !T.IsInteger(v) || (classNames is not null && v >= T.CreateChecked(classNames.Count)))
            {
                string range = classNames is null ? "a non-negative integer" : $"an integer in 0..{classNames.Count - 1}";
                throw new ArgumentException(
                    $"Dataset '{name}': target {i} must be a class index ({range}) but is {v}.", "targets");
            }
            max = Math.Max(max, long.CreateTruncating(v));
        }
        if (classNames is NumberedClassNames numbered) return numbered;
        if (classNames is not null) return [.. classNames];
        // Integer labels may be large ids, so their names are made when read; float labels keep their array.
        if (typeof(T) == typeof(int)) return new NumberedClassNames(checked((int)(max + 1)));
        var names = new string[max + 1];
        for (int c = 0; c < names.Length; c++) names[c] = c.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return names;
    }

    /// <summary>
    /// The shape of one example before it was flattened into a row of F features, e.g. <c>[1, 28, 28]</c> (channels,
    /// height, width) for an MNIST image; <c>[F]</c> for tabular data. Its product is always F. <c>Fit</c> and
    /// <c>Evaluate</c> hand a model that starts with a Conv2d, a pooling layer or BatchNorm2d (no Reshape in front) each
    /// batch <c>[B, F]</c> viewed as <c>[B, ..SampleShape]</c>, and compile it with this shape.
    /// </summary>
    public IReadOnlyList<int> SampleShape => sampleShape ?? [NumFeatures];

    /// <summary>Whether <see cref="SampleShape"/> has more than one axis (an image), read without building the list.</summary>
    internal bool HasImageShape => sampleShape is { Length: > 1 };

    /// <summary>
    /// The same examples (shared storage) with each row read as a tensor of shape <paramref name="shape"/>,
    /// whose product must equal the number of features.
    /// </summary>
    public Dataset WithSampleShape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long product = 1;
        foreach (var d in shape)
        {
            if (d <= 0) throw new ArgumentException($"Dataset '{Name}': sample shape {Shapes.Format(shape)} must have positive sizes.", nameof(shape));
            product *= d;
        }
        if (shape.Length == 0 || product != NumFeatures)
            throw new ShapeMismatchException(
                $"Dataset '{Name}': sample shape {Shapes.Format(shape)} holds {product} values but each example has {NumFeatures} features.");
        return new Dataset(Features, Targets, intTargets, featureNames, classNames, Name) { sampleShape = [.. shape], moreInputs = moreInputs, moreTargets = moreTargets };
    }

    /// <summary>
    /// The same rows carrying more input tensors after <see cref="Features"/>, for a model with several inputs
    /// (<see cref="Nn.Module.Forward(IReadOnlyList{Tensor})"/>): each has one row per example, of any shape
    /// (<c>[N, ...]</c>), e.g. token ids beside image pixels. Row selection (batches, splits, subsets) keeps them aligned.
    /// </summary>
    /// <exception cref="ShapeMismatchException">An input does not have N rows.</exception>
    public Dataset WithMoreInputs(params Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        for (int i = 0; i < inputs.Length; i++)
        {
            var t = inputs[i] ?? throw new ArgumentNullException(nameof(inputs), $"Dataset '{Name}'.WithMoreInputs: input {i + 1} is null.");
            if (t.Rank == 0 || t.dims[0] != Count)
                throw new ShapeMismatchException($"Dataset '{Name}'.WithMoreInputs: input {i + 1} has shape {Shapes.Format(t.dims)} but the dataset has {Count} rows; each input needs one row per example.");
        }
        return new Dataset(Features, Targets, intTargets, featureNames, classNames, Name) { sampleShape = sampleShape, moreInputs = [.. moreInputs, .. inputs], moreTargets = moreTargets };
    }

    /// <summary>Every input tensor of the rows, in the order a model's Forward takes them: <see cref="Features"/> first.</summary>
    public IReadOnlyList<Tensor> Inputs => [Features, .. moreInputs];

    /// <summary>How many input tensors each row carries (1 unless <see cref="WithMoreInputs"/> added some).</summary>
    public int InputCount => 1 + moreInputs.Length;

    /// <summary>
    /// The same rows carrying more targets after <see cref="Targets"/>, for a model with several outputs
    /// (<see cref="Nn.Module.ForwardOutputs"/>): target i is compared with output i by loss i of a
    /// <see cref="Nn.MultiOutputLoss"/>, e.g. a box <c>[N, 4]</c> beside the class. Each has one row per example, of
    /// any shape (<c>[N, ...]</c>); a rank-1 one holds class indices, as <see cref="Targets"/> does. Row selection
    /// (batches, splits, subsets) keeps them aligned; a split stratifies by the first target's classes.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A target does not have N rows.</exception>
    public Dataset WithMoreTargets(params Tensor[] targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        for (int i = 0; i < targets.Length; i++)
        {
            var t = targets[i] ?? throw new ArgumentNullException(nameof(targets), $"Dataset '{Name}'.WithMoreTargets: added target {i + 1} is null.");
            if (t.Rank == 0 || t.dims[0] != Count)
                throw new ShapeMismatchException($"Dataset '{Name}'.WithMoreTargets: added target {i + 1} has shape {Shapes.Format(t.dims)} but the dataset has {Count} rows; each target needs one row per example.");
        }
        return new Dataset(Features, Targets, intTargets, featureNames, classNames, Name) { sampleShape = sampleShape, moreInputs = moreInputs, moreTargets = [.. moreTargets, .. targets] };
    }

    /// <summary>Every target tensor of the rows, in the order a model's outputs match them: <see cref="Targets"/> first.</summary>
    public IReadOnlyList<Tensor> AllTargets => [Targets, .. moreTargets];

    /// <summary>How many targets each row carries (1 unless <see cref="WithMoreTargets"/> added some).</summary>
    public int TargetCount => 1 + moreTargets.Length;

    /// <summary>Features, shape <c>[N, F]</c>.</summary>
    public Tensor Features { get; }

    /// <summary>
    /// Targets: class indices <c>[N]</c> for classification, real values <c>[N, K]</c> for regression. For labels
    /// given as integers, their float copy (exact up to 2²⁴); <see cref="IntTargets"/> holds them exactly.
    /// </summary>
    public Tensor Targets { get; }

    /// <summary>
    /// The class labels held as integers <c>[N]</c> when the set was created from an <see cref="IntTensor"/>, else
    /// null (labels given as floats stay floats).
    /// </summary>
    public IntTensor? IntTargets => intTargets;

    /// <summary>The dataset's name (for example <c>iris</c> or a CSV file's name without extension).</summary>
    public string Name { get; }

    /// <summary>Number of examples N.</summary>
    public int Count => Features.dims[0];

    /// <summary>Number of features F.</summary>
    public int NumFeatures => Features.dims[1];

    /// <summary>The F feature (column) names.</summary>
    public IReadOnlyList<string> FeatureNames => featureNames;

    /// <summary>Class names, index i naming class i; null for regression.</summary>
    public IReadOnlyList<string>? ClassNames => classNames;

    /// <summary>True when targets are class indices <c>[N]</c>.</summary>
    public bool IsClassification => classNames is not null;

    /// <summary>Number of classes C; 0 for regression.</summary>
    public int NumClasses => classNames?.Count ?? 0;

    /// <summary>
    /// The width of a model's output for this data: C for classification (one logit per class), K for regression.
    /// </summary>
    public int NumOutputs => IsClassification ? NumClasses : Targets.dims[1];

    /// <summary>The examples at <paramref name="indices"/>, in that order (a copy).</summary>
    public Dataset Subset(ReadOnlySpan<int> indices)
    {
        using (GradMode.NoGrad())
        {
            var more = new Tensor[moreInputs.Length];
            for (int i = 0; i < more.Length; i++) more[i] = moreInputs[i].Rows(indices);
            var targets = new Tensor[moreTargets.Length];
            for (int i = 0; i < targets.Length; i++) targets[i] = moreTargets[i].Rows(indices);
            return new Dataset(Features.Rows(indices), Targets.Rows(indices), intTargets?.Rows(indices), featureNames, classNames, Name) { sampleShape = sampleShape, moreInputs = more, moreTargets = targets };
        }
    }

    /// <summary>The first <paramref name="n"/> examples, or all of them when there are fewer (a copy).</summary>
    public Dataset Take(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        int count = Math.Min(n, Count);
        using (GradMode.NoGrad())
            return new Dataset(Features.Slice(0, count), Targets.Slice(0, count), intTargets?.Rows([.. Enumerable.Range(0, count)]), featureNames, classNames, Name)
            {
                sampleShape = sampleShape, moreInputs = [.. moreInputs.Select(t => t.Slice(0, count))],
                moreTargets = [.. moreTargets.Select(t => t.Slice(0, count))],
            };
    }

    /// <summary>
    /// The same targets with new features, for example standardized ones. <paramref name="features"/> must have N
    /// rows; the feature names are kept when the column count is unchanged and no new names are given.
    /// </summary>
    public Dataset WithFeatures(Tensor features, IReadOnlyList<string>? featureNames = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Rank != 2 || features.dims[0] != Count)
            throw new ShapeMismatchException(
                $"Dataset '{Name}'.WithFeatures: expected features [{Count}, *] but got {Shapes.Format(features.dims)}.");
        var names = featureNames ?? (features.dims[1] == NumFeatures ? this.featureNames : null);
        return new Dataset(features, Targets, intTargets, names, classNames, Name)
        {
            sampleShape = features.dims[1] == NumFeatures ? sampleShape : null, moreInputs = moreInputs, moreTargets = moreTargets,
        };
    }

    /// <summary>
    /// The same rows labelled against <paramref name="classNames"/> (for example a model's classes), matched by name:
    /// a set holding only some of them, in any order, is renumbered so that class index i means
    /// <paramref name="classNames"/>[i].
    /// </summary>
    /// <exception cref="InvalidOperationException">The set is a regression set.</exception>
    /// <exception cref="ArgumentException">A class of this set is not among <paramref name="classNames"/>.</exception>
    public Dataset WithClasses(IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        if (this.classNames is not { } own)
            throw new InvalidOperationException($"Dataset '{Name}' has numeric targets, so it has no classes to relabel.");
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int c = 0; c < classNames.Count; c++) index.TryAdd(classNames[c], c);
        var map = new int[own.Count];
        for (int c = 0; c < own.Count; c++)
            map[c] = index.TryGetValue(own[c], out var to) ? to
                : throw new ArgumentException($"'{Name}' has class '{own[c]}', which is not one of the {classNames.Count} expected ({string.Join(", ", classNames)}).", nameof(classNames));
        var labels = intTargets?.data ?? [.. Targets.data.Select(v => (int)v)];
        var relabelled = new int[labels.Length];
        for (int i = 0; i < labels.Length; i++) relabelled[i] = map[labels[i]];
        var ints = IntTensor.FromArray(relabelled);
        return new Dataset(Features, ints.ToFloat(), intTargets is null ? null : ints, featureNames, classNames, Name) { sampleShape = sampleShape, moreInputs = moreInputs, moreTargets = moreTargets };
    }

    /// <summary>
    /// Splits into a training and a test set, deterministically for a given <paramref name="seed"/>.
    /// </summary>
    /// <remarks>
    /// The training set gets round(<paramref name="trainFraction"/> · N) examples. For classification the split is
    /// stratified: each class contributes ⌊fraction · n_c⌋ examples, and the rows still missing from the total go to
    /// the classes with the largest remainders, so class proportions match the whole set (Iris at 0.8 gives 40 of
    /// each class for training, 10 of each for testing). Both sets are shuffled.
    /// </remarks>
    public (Dataset Train, Dataset Test) Split(double trainFraction, int seed)
    {
        if (!(trainFraction > 0 && trainFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(trainFraction), trainFraction,
                "Split: the training fraction must be strictly between 0 and 1.");
        if (Count < 2)
            throw new InvalidOperationException($"Split: dataset '{Name}' has {Count} examples; at least 2 are needed.");
        int nTrain = Math.Clamp((int)Math.Round(trainFraction * Count, MidpointRounding.AwayFromZero), 1, Count - 1);
        var rng = new Rng(seed);
        int[] train, test;
        if (IsClassification) (train, test) = StratifiedSplit.Indices(intTargets?.data ?? [.. Targets.data.Select(v => (int)v)], nTrain, rng);
        else
        {
            var order = rng.Permutation(Count);
            train = order[..nTrain];
            test = order[nTrain..];
        }
        rng.Shuffle(train.AsSpan());
        rng.Shuffle(test.AsSpan());
        return (Subset(train), Subset(test));
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Name}: {Count} examples, {NumFeatures} features{(moreInputs.Length == 0 ? "" : $" and {moreInputs.Length} more input{(moreInputs.Length == 1 ? "" : "s")} ({string.Join(", ", moreInputs.Select(t => Shapes.Format(t.dims[1..])))} per row)")}, "
        + (IsClassification ? $"{NumClasses} classes" : $"{NumOutputs} regression target{(NumOutputs == 1 ? "" : "s")}")
        + (moreTargets.Length == 0 ? "" : $" and {moreTargets.Length} more target{(moreTargets.Length == 1 ? "" : "s")} ({string.Join(", ", moreTargets.Select(t => Shapes.Format(t.dims[1..])))} per row)");
}
