namespace Backprop.Data;

/// <summary>Chooses row indices for a train/test split that keeps each class's share of the data.</summary>
internal static class StratifiedSplit
{
    /// <summary>
    /// Splits rows 0..N−1 so that the training part has exactly <paramref name="nTrain"/> rows and each class c
    /// contributes ⌊f·n_c⌋ or ⌈f·n_c⌉ of them, f = nTrain / N (largest-remainder apportionment, ties to the lower
    /// class index). Within a class the chosen rows are random.
    /// </summary>
    /// <param name="labels">N class indices, already validated to be non-negative.</param>
    /// <param name="nTrain">Rows the training part must get, 1..N−1.</param>
    /// <param name="rng">Chooses which rows of each class go to training.</param>
    /// <remarks>
    /// Only the classes present are visited, in ascending order: a class with no rows gets no quota, no extra row and
    /// no random draw, so this is the same split as visiting every class 0..C−1, without C-sized arrays for labels
    /// that are large ids.
    /// </remarks>
    public static (int[] Train, int[] Test) Indices(ReadOnlySpan<int> labels, int nTrain, Rng rng)
    {
        int n = labels.Length;
        var present = labels.ToArray();
        Array.Sort(present);
        present = [.. present.Distinct()];
        int numClasses = present.Length;
        var byClass = new List<int>[numClasses];
        for (int c = 0; c < numClasses; c++) byClass[c] = [];
        for (int i = 0; i < n; i++) byClass[Array.BinarySearch(present, labels[i])].Add(i);

        double f = (double)nTrain / n;
        var quota = new int[numClasses];
        var remainder = new double[numClasses];
        int assigned = 0;
        for (int c = 0; c < numClasses; c++)
        {
            double exact = f * byClass[c].Count;
            quota[c] = (int)Math.Floor(exact);
            remainder[c] = exact - quota[c];
            assigned += quota[c];
        }
        // Sum of floors ≤ nTrain < sum of floors + numClasses, so at most one extra row per class is handed out.
        var order = Enumerable.Range(0, numClasses).OrderByDescending(c => remainder[c]).ThenBy(c => c).ToArray();
        for (int k = 0; assigned < nTrain; k++)
        {
            int c = order[k];
            if (quota[c] < byClass[c].Count) { quota[c]++; assigned++; }
        }

        var train = new List<int>(nTrain);
        var test = new List<int>(n - nTrain);
        for (int c = 0; c < numClasses; c++)
        {
            var rows = byClass[c].ToArray();
            rng.Shuffle(rows.AsSpan());
            train.AddRange(rows.AsSpan(0, quota[c]));
            test.AddRange(rows.AsSpan(quota[c]));
        }
        return (train.ToArray(), test.ToArray());
    }
}
