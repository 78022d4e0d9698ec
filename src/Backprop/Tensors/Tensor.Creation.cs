namespace Backprop;

public sealed partial class Tensor
{
    /// <summary>A tensor of the given shape filled with zeros.</summary>
    public static Tensor Zeros(params int[] shape) => new(Shapes.Validate(shape), new float[Shapes.Size(shape)]);

    /// <summary>A tensor of the given shape filled with ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    /// <summary>A tensor of the given shape filled with <paramref name="value"/>.</summary>
    public static Tensor Full(float value, params int[] shape)
    {
        var t = Zeros(shape);
        Array.Fill(t.data, value);
        return t;
    }

    /// <summary>A rank-0 tensor holding one value.</summary>
    public static Tensor Scalar(float value) => new([], [value]);

    /// <summary>A tensor of zeros with the shape of <paramref name="like"/>.</summary>
    public static Tensor ZerosLike(Tensor like) => Zeros((int[])like.dims.Clone());

    /// <summary>A tensor of ones with the shape of <paramref name="like"/>.</summary>
    public static Tensor OnesLike(Tensor like) => Ones((int[])like.dims.Clone());

    /// <summary>The n×n identity matrix.</summary>
    public static Tensor Eye(int n)
    {
        var t = Zeros(n, n);
        for (int i = 0; i < n; i++) t.data[i * n + i] = 1f;
        return t;
    }

    /// <summary>
    /// One row per label: [n, classes] with a 1 in column <c>classIndices[i]</c> of row i (labels stored as floats,
    /// shape [n]).
    /// </summary>
    public static Tensor OneHot(Tensor classIndices, int classes)
    {
        ArgumentNullException.ThrowIfNull(classIndices);
        return OneHot(classIndices, classes, Zeros(classIndices.Size, classes));
    }

    /// <summary>
    /// <see cref="OneHot(Tensor, int)"/> into <paramref name="t"/>, zeroed [n, classes] storage of the caller's (a
    /// training step rents it for the step).
    /// </summary>
    internal static Tensor OneHot(Tensor classIndices, int classes, Tensor t)
    {
        if (classIndices.Rank != 1)
            throw new ShapeMismatchException($"OneHot: expected class indices [n] but got {Shapes.Format(classIndices.dims)}.");
        for (int i = 0; i < classIndices.Size; i++)
        {
            float label = classIndices.data[i];
            int k = (int)label;
            if (k != label || k < 0 || k >= classes)
                throw new ArgumentException($"OneHot: label {i} is {label}, but class indices must be whole numbers in 0..{classes - 1}.");
            t.data[i * classes + k] = 1f;
        }
        return t;
    }

    /// <summary>The values 0, 1, ..., n−1 as a rank-1 tensor.</summary>
    public static Tensor Arange(int n)
    {
        var t = Zeros(n);
        for (int i = 0; i < n; i++) t.data[i] = i;
        return t;
    }

    /// <summary>
    /// A tensor holding a copy of <paramref name="values"/> in row-major order with the given shape; with no
    /// shape, a rank-1 tensor.
    /// </summary>
    public static Tensor FromArray(float[] values, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (shape.Length == 0) shape = [values.Length];
        Shapes.Validate(shape);
        if (Shapes.Size(shape) != values.Length)
            throw new ShapeMismatchException(
                $"FromArray: shape {Shapes.Format(shape)} holds {Shapes.Size(shape)} elements but {values.Length} values were given.");
        return new((int[])shape.Clone(), (float[])values.Clone());
    }

    /// <summary>A rank-2 tensor holding a copy of <paramref name="matrix"/>.</summary>
    public static Tensor FromArray(float[,] matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        int rows = matrix.GetLength(0), cols = matrix.GetLength(1);
        var data = new float[rows * cols];
        Buffer.BlockCopy(matrix, 0, data, 0, data.Length * sizeof(float));
        return new([rows, cols], data);
    }

    /// <summary>Values drawn from a normal distribution N(mean, std²) using a seeded generator.</summary>
    public static Tensor RandomNormal(int[] shape, Rng rng, float mean = 0f, float std = 1f)
    {
        var t = Zeros(shape);
        for (int i = 0; i < t.data.Length; i++) t.data[i] = mean + std * rng.NextNormal();
        return t;
    }

    /// <summary>Values drawn uniformly from [low, high) using a seeded generator.</summary>
    public static Tensor RandomUniform(int[] shape, Rng rng, float low = 0f, float high = 1f)
    {
        var t = Zeros(shape);
        for (int i = 0; i < t.data.Length; i++) t.data[i] = low + (high - low) * rng.NextFloat();
        return t;
    }

    /// <summary>Values drawn from N(mean, std²) with a generator seeded by <paramref name="seed"/>.</summary>
    public static Tensor RandomNormal(int[] shape, int seed, float mean = 0f, float std = 1f) =>
        RandomNormal(shape, new Rng(seed), mean, std);

    /// <summary>Values drawn uniformly from [low, high) with a generator seeded by <paramref name="seed"/>.</summary>
    public static Tensor RandomUniform(int[] shape, int seed, float low = 0f, float high = 1f) =>
        RandomUniform(shape, new Rng(seed), low, high);

    /// <summary>Wraps a float as a rank-0 tensor, so that <c>t * 2f</c> and <c>2f - t</c> read naturally.</summary>
    public static implicit operator Tensor(float value) => Scalar(value);
}
