namespace Backprop.Nn;

/// <summary>
/// Rosenblatt's perceptron (1958): a single neuron with a step activation, trained by the perceptron rule
/// <c>w ← w + η·(y − ŷ)·x</c>, <c>b ← b + η·(y − ŷ)</c>. It needs no gradients: the step function has none.
/// It learns any linearly separable problem (AND, OR) and provably cannot learn XOR; <see cref="Train"/> says so
/// honestly by reporting <see cref="PerceptronResult.Converged"/> = false.
/// </summary>
public sealed class Perceptron
{
    private readonly float[] weights;

    /// <summary>Creates a perceptron with <paramref name="inputs"/> weights, all zero, and zero bias.</summary>
    public Perceptron(int inputs)
    {
        if (inputs <= 0) throw new ArgumentOutOfRangeException(nameof(inputs), inputs, "a perceptron needs at least one input.");
        weights = new float[inputs];
    }

    /// <summary>The weights w (copy).</summary>
    public float[] Weights => (float[])weights.Clone();

    /// <summary>The bias b.</summary>
    public float Bias { get; private set; }

    /// <summary>step(w·x + b): 1 when w·x + b &gt; 0, else 0.</summary>
    public int Predict(ReadOnlySpan<float> x)
    {
        if (x.Length != weights.Length)
            throw new ShapeMismatchException($"Perceptron({weights.Length}) expected {weights.Length} inputs but got {x.Length}.");
        float z = Bias;
        for (int i = 0; i < weights.Length; i++) z += weights[i] * x[i];
        return z > 0f ? 1 : 0;
    }

    /// <summary>
    /// Applies the perceptron rule over the rows of <paramref name="x"/> ([n, inputs]) with labels
    /// <paramref name="y"/> ([n], values 0 or 1) until an epoch makes no mistake or <paramref name="maxEpochs"/> pass.
    /// </summary>
    public PerceptronResult Train(Tensor x, Tensor y, float learningRate = 1f, int maxEpochs = 100)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Rank != 2 || x.Shape[1] != weights.Length)
            throw new ShapeMismatchException($"Perceptron({weights.Length}) expected inputs [n, {weights.Length}] but got {Shapes.Format(x.dims)}.");
        int n = x.Shape[0];
        if (y.Size != n)
            throw new ShapeMismatchException($"Perceptron: {n} input rows but {y.Size} labels (shape {Shapes.Format(y.dims)}).");
        foreach (var label in y.data)
            if (label != 0f && label != 1f)
                throw new ArgumentException($"Perceptron labels must be 0 or 1 but got {label}.");

        int errors = 0;
        for (int epoch = 1; epoch <= maxEpochs; epoch++)
        {
            errors = 0;
            for (int i = 0; i < n; i++)
            {
                var row = x.data.AsSpan(i * weights.Length, weights.Length);
                float error = y.data[i] - Predict(row);
                if (error == 0f) continue;
                errors++;
                for (int j = 0; j < weights.Length; j++) weights[j] += learningRate * error * row[j];
                Bias += learningRate * error;
            }
            if (errors == 0) return new PerceptronResult(true, epoch, 0);
        }
        return new PerceptronResult(false, maxEpochs, errors);
    }
}

/// <summary>The outcome of <see cref="Perceptron.Train"/>.</summary>
/// <param name="Converged">True when an epoch classified every row correctly.</param>
/// <param name="Epochs">Epochs run.</param>
/// <param name="ErrorsInLastEpoch">Misclassified rows in the last epoch (0 when converged).</param>
public sealed record PerceptronResult(bool Converged, int Epochs, int ErrorsInLastEpoch)
{
    /// <inheritdoc/>
    public override string ToString() => Converged
        ? $"converged after {Epochs} epoch(s)"
        : $"did not converge in {Epochs} epochs ({ErrorsInLastEpoch} rows still misclassified): the data is not linearly separable, or needs more epochs";
}
