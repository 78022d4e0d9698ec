namespace Backprop.Tests.Explain;

/// <summary>
/// Seed 001's closed-form formulas in plain double arithmetic, independent of the engine: the reference the step
/// trace's autograd values are checked against.
/// </summary>
internal static class SeedClosedForm
{
    public static readonly double[,] X = { { 4.9, 3.0, 1.4, 0.2 }, { 6.4, 3.2, 4.5, 1.5 }, { 5.8, 2.7, 5.1, 1.9 } };
    public static readonly double[,] Y = { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } };
    public static readonly double[,] W1 = { { 0.7, 0.4 }, { -0.8, 0.0 }, { 0.3, -0.4 }, { 0.1, 0.1 } };
    public static readonly double[,] W2 = { { 0.0, -0.1, 0.2 }, { 0.6, -0.5, 0.5 } };
    public const int N = 9;

    /// <summary>Every matrix of the seed's step by its formula, keyed by the seed's names.</summary>
    public static Dictionary<string, double[,]> Compute()
    {
        var hIn = MatMul(X, W1);
        var hOut = Map(hIn, Sigmoid);
        var oIn = MatMul(hOut, W2);
        var oOut = Map(oIn, Sigmoid);
        var oError = Zip(oOut, Y, (o, y) => o - y);                               // O_out − Y
        var oDelta = Zip(oError, oOut, (e, o) => e * o * (1 - o));                // O_error ⊙ O_out ⊙ (1 − O_out)
        var w2Update = Map(MatMul(Transpose(hOut), oDelta), v => v / N);          // (1/N) H_outᵀ·O_delta
        var hError = MatMul(oDelta, Transpose(W2));                               // O_delta·W2ᵀ
        var hDelta = Zip(hError, hOut, (e, h) => e * h * (1 - h));                // H_error ⊙ H_out ⊙ (1 − H_out)
        var w1Update = Map(MatMul(Transpose(X), hDelta), v => v / N);             // (1/N) Xᵀ·H_delta
        return new()
        {
            ["X"] = X, ["Y"] = Y, ["W1"] = W1, ["W2"] = W2,
            ["H_in"] = hIn, ["H_out"] = hOut, ["O_in"] = oIn, ["O_out"] = oOut,
            ["O_error"] = oError, ["O_delta"] = oDelta, ["W2_update"] = w2Update,
            ["H_error"] = hError, ["H_delta"] = hDelta, ["W1_update"] = w1Update,
        };
    }

    public static double Loss()
    {
        var oError = Compute()["O_error"];
        double sum = 0;
        foreach (var e in oError) sum += e * e;
        return sum / (2 * N);
    }

    public static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    public static double[,] MatMul(double[,] a, double[,] b)
    {
        int m = a.GetLength(0), k = a.GetLength(1), n = b.GetLength(1);
        var r = new double[m, n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                for (int p = 0; p < k; p++) r[i, j] += a[i, p] * b[p, j];
        return r;
    }

    public static double[,] Transpose(double[,] a)
    {
        var r = new double[a.GetLength(1), a.GetLength(0)];
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++) r[j, i] = a[i, j];
        return r;
    }

    public static double[,] Map(double[,] a, Func<double, double> f)
    {
        var r = new double[a.GetLength(0), a.GetLength(1)];
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++) r[i, j] = f(a[i, j]);
        return r;
    }

    public static double[,] Zip(double[,] a, double[,] b, Func<double, double, double> f)
    {
        var r = new double[a.GetLength(0), a.GetLength(1)];
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++) r[i, j] = f(a[i, j], b[i, j]);
        return r;
    }

    /// <summary>Asserts every element of <paramref name="actual"/> is within <paramref name="tolerance"/> of <paramref name="expected"/>.</summary>
    public static void AssertClose(double[,] expected, Tensor actual, double tolerance, string name)
    {
        Assert.Equal([expected.GetLength(0), expected.GetLength(1)], actual.Shape);
        var a = actual.ToMatrix();
        for (int i = 0; i < expected.GetLength(0); i++)
            for (int j = 0; j < expected.GetLength(1); j++)
                Assert.True(Math.Abs(expected[i, j] - a[i, j]) <= tolerance,
                    $"{name}[{i},{j}]: expected {expected[i, j]} ± {tolerance} but got {a[i, j]}.");
    }
}
