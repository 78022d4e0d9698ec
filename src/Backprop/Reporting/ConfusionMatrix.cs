namespace Backprop.Reporting;

/// <summary>
/// Counts of (true class, predicted class) pairs: <c>Counts[t, p]</c> is the number of examples of class t that the
/// model called p. Rows are true classes, columns predicted ones; the diagonal holds the correct answers.
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly int[,] counts;

    /// <summary>Counts the pairs (<paramref name="actual"/>[i], <paramref name="predicted"/>[i]) over C classes.</summary>
    /// <param name="actual">True class index of each example, in 0..C−1.</param>
    /// <param name="predicted">Predicted class index of each example, in 0..C−1; same length as <paramref name="actual"/>.</param>
    /// <param name="numClasses">C, at least 1.</param>
    public ConfusionMatrix(ReadOnlySpan<int> actual, ReadOnlySpan<int> predicted, int numClasses)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        if (actual.Length != predicted.Length)
            throw new ArgumentException($"ConfusionMatrix: {actual.Length} true classes but {predicted.Length} predictions; expected one per example.");
        counts = new int[numClasses, numClasses];
        for (int i = 0; i < actual.Length; i++)
        {
            int t = actual[i], p = predicted[i];
            if ((uint)t >= (uint)numClasses || (uint)p >= (uint)numClasses)
                throw new ArgumentException($"ConfusionMatrix: example {i} has true class {t} and prediction {p}; expected both in 0..{numClasses - 1}.");
            counts[t, p]++;
        }
        Total = actual.Length;
    }

    /// <summary>Number of classes C.</summary>
    public int NumClasses => counts.GetLength(0);

    /// <summary>Number of examples counted.</summary>
    public int Total { get; }

    /// <summary>Examples of true class <paramref name="actual"/> predicted as <paramref name="predicted"/>.</summary>
    public int this[int actual, int predicted] => counts[actual, predicted];

    /// <summary>Examples whose true class is <paramref name="c"/> (the row sum).</summary>
    public int Support(int c)
    {
        int sum = 0;
        for (int p = 0; p < NumClasses; p++) sum += counts[c, p];
        return sum;
    }

    /// <summary>Correctly classified examples: the trace Σ_c Counts[c, c].</summary>
    public int Correct
    {
        get
        {
            int sum = 0;
            for (int c = 0; c < NumClasses; c++) sum += counts[c, c];
            return sum;
        }
    }

    /// <summary>Correct / Total; NaN when no example was counted.</summary>
    public double Accuracy => Total == 0 ? double.NaN : (double)Correct / Total;

    /// <summary>
    /// Per-class accuracy (recall) Counts[c, c] / Support(c): the fraction of class c's examples found; null for a
    /// class with no examples in the data.
    /// </summary>
    public double? ClassAccuracy(int c) => Support(c) == 0 ? null : (double)counts[c, c] / Support(c);

    /// <summary>The counts as rows (true class) of columns (predicted class), for JSON.</summary>
    public int[][] ToRows()
    {
        var rows = new int[NumClasses][];
        for (int t = 0; t < NumClasses; t++)
        {
            rows[t] = new int[NumClasses];
            for (int p = 0; p < NumClasses; p++) rows[t][p] = counts[t, p];
        }
        return rows;
    }
}
