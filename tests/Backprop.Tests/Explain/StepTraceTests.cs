using System.Text.Json;
using Backprop.Explain;

namespace Backprop.Tests.Explain;

/// <summary>Seed 001's worked example, matrix by matrix, computed by the autograd engine.</summary>
public sealed class StepTraceTests
{
    private static readonly string[] SeedNames =
        ["X", "Y", "W1", "W2", "H_in", "H_out", "O_in", "O_out", "O_error", "O_delta", "W2_update", "H_error", "H_delta", "W1_update"];

    /// <summary>The figures as seed 001 prints them (rounded to 2 or 3 decimals).</summary>
    public static TheoryData<string, double[,]> PrintedFigures => new()
    {
        { "H_in", new[,] { { 1.47, 1.42 }, { 3.42, 0.91 }, { 3.62, 0.47 } } },
        { "H_out", new[,] { { 0.81, 0.81 }, { 0.97, 0.71 }, { 0.97, 0.62 } } },
        { "O_in", new[,] { { 0.49, -0.49, 0.57 }, { 0.43, -0.45, 0.55 }, { 0.37, -0.41, 0.50 } } },
        { "O_out", new[,] { { 0.62, 0.38, 0.64 }, { 0.61, 0.39, 0.63 }, { 0.59, 0.40, 0.62 } } },
        { "O_error", new[,] { { -0.38, 0.38, 0.64 }, { 0.61, -0.61, 0.63 }, { 0.59, 0.40, -0.38 } } },
        { "O_delta", new[,] { { -0.09, 0.09, 0.15 }, { 0.15, -0.15, 0.15 }, { 0.14, 0.10, -0.09 } } },
        { "W2_update", new[,] { { 0.023, 0.003, 0.020 }, { 0.013, 0.003, 0.019 } } },
        { "H_error", new[,] { { 0.021, -0.024 }, { 0.045, 0.240 }, { -0.028, -0.011 } } },
        { "H_delta", new[,] { { 0.003, -0.004 }, { 0.001, 0.049 }, { -0.001, -0.003 } } },
        { "W1_update", new[,] { { 0.002, 0.031 }, { 0.001, 0.015 }, { 0.000, 0.022 }, { 0.000, 0.007 } } },
    };

    [Theory]
    [MemberData(nameof(PrintedFigures))]
    public void SeedTraceMatchesThePrintedFigures(string name, double[,] printed) =>
        SeedClosedForm.AssertClose(printed, SeedExample.Trace()[name], 0.01, name);

    [Fact]
    public void AutogradValuesEqualTheSeedsClosedForms()
    {
        var trace = SeedExample.Trace();
        foreach (var (name, expected) in SeedClosedForm.Compute())
            SeedClosedForm.AssertClose(expected, trace[name], 1e-5, name);
        Assert.Equal(SeedClosedForm.Loss(), trace.Loss.Item(), 1e-6);
        Assert.Equal(9, trace.N);
    }

    [Fact]
    public void SeedsHErrorComesFromItsRoundedODelta()
    {
        // The seed's H_error[1,1] = 0.240 is 0.007 off the exact 0.233: the seed multiplied its two-decimal O_delta.
        // Redoing that product from the printed O_delta reproduces every printed H_error figure to 3 decimals.
        var printedODelta = new[,] { { -0.09, 0.09, 0.15 }, { 0.15, -0.15, 0.15 }, { 0.14, 0.10, -0.09 } };
        var printedHError = new[,] { { 0.021, -0.024 }, { 0.045, 0.240 }, { -0.028, -0.011 } };
        var fromRounded = SeedClosedForm.MatMul(printedODelta, SeedClosedForm.Transpose(SeedClosedForm.W2));
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++) Assert.Equal(printedHError[i, j], fromRounded[i, j], 0.0005);
        Assert.Equal(0.2330, SeedExample.Trace()["H_error"][1, 1], 0.0005);
    }

    [Fact]
    public void DeltasAreNTimesTheEngineGradients()
    {
        var trace = SeedExample.Trace();
        // Forward tensors are the recorded graph's own nodes, so their Grad is ∂E/∂node.
        AssertEqualTensors(trace["O_error"], trace["O_out"].Grad! * 9f, 1e-6f);
        AssertEqualTensors(trace["O_delta"], trace["O_in"].Grad! * 9f, 1e-6f);
        AssertEqualTensors(trace["H_error"], trace["H_out"].Grad! * 9f, 1e-6f);
        AssertEqualTensors(trace["H_delta"], trace["H_in"].Grad! * 9f, 1e-6f);
        AssertEqualTensors(trace["W1_update"], trace["W1"].Grad!, 0f);
        AssertEqualTensors(trace["W2_update"], trace["W2"].Grad!, 0f);
    }

    [Fact]
    public void NamesFollowTheSeedsOrder() => Assert.Equal(SeedNames, SeedExample.Trace().Names);

    [Fact]
    public void ForTwoLayerLeavesTheCallersTensorsAlone()
    {
        var w1 = SeedExample.W1();
        var w2 = SeedExample.W2().RequireGrad();
        var trace = StepTrace.ForTwoLayer(SeedExample.X(), SeedExample.Y(), w1, w2);
        Assert.False(w1.RequiresGrad);
        Assert.Null(w1.Grad);
        Assert.Null(w2.Grad);
        Assert.NotSame(w1, trace["W1"]);
        Assert.Equal(0.7f, trace["W1"][0, 0]);
    }

    [Fact]
    public void JsonIsOneObjectKeyedByTheSeedsNames()
    {
        var trace = SeedExample.Trace();
        using var doc = JsonDocument.Parse(trace.ToJson());
        var root = doc.RootElement;
        Assert.Equal(JsonValueKind.Object, root.ValueKind);
        Assert.Equal(SeedNames, root.EnumerateObject().Select(p => p.Name));
        foreach (var name in SeedNames)
        {
            var expected = trace[name].ToMatrix();
            var rows = root.GetProperty(name).EnumerateArray().ToArray();
            Assert.Equal(expected.GetLength(0), rows.Length);
            for (int i = 0; i < rows.Length; i++)
            {
                var cols = rows[i].EnumerateArray().Select(v => v.GetSingle()).ToArray();
                Assert.Equal(expected.GetLength(1), cols.Length);
                for (int j = 0; j < cols.Length; j++) Assert.Equal(expected[i, j], cols[j]);   // shortest round-trip: exact
            }
        }
        Assert.Equal(4.9f, root.GetProperty("X")[0][0].GetSingle());
        Assert.Equal(-0.38, root.GetProperty("O_error")[0][0].GetDouble(), 0.005);
    }

    [Fact]
    public void TextShowsEachMatrixUnderItsNameWithRowsAligned()
    {
        var text = SeedExample.Trace().ToText(decimals: 2);
        Assert.Contains("H_in = [[1.47 1.42]\n        [3.42 0.91]\n        [3.62 0.47]]\n", text);
        Assert.Contains("H_out = [[0.81 0.81]\n         [0.97 0.71]\n         [0.97 0.62]]\n", text);
        Assert.Contains("O_error = [[-0.38  0.38  0.64]\n           [ 0.61 -0.61  0.63]\n", text);
        Assert.Contains("W1 = [[ 0.70  0.40]\n      [-0.80  0.00]\n", text);   // NumPy-style: columns stay aligned
        Assert.Contains("E = 0.14   (N = 9)", text);
        Assert.True(text.IndexOf("W2_update =", StringComparison.Ordinal) < text.IndexOf("H_error =", StringComparison.Ordinal));
    }

    [Fact]
    public void TextWithFormulasShowsTheSeedsFormulaAndTheAutogradQuantity()
    {
        var text = SeedExample.Trace().ToText(decimals: 3, formulas: true);
        Assert.Contains("O_delta = O_error ⊙ O_out ⊙ (1 − O_out)   (autograd: N·∂E/∂O_in)\n        = [[-0.090  0.090  0.147]\n", text);
        Assert.Contains("W1_update = (1/N)·Xᵀ·H_delta   (autograd: ∂E/∂W1)\n", text);
        Assert.Contains("H_error = O_delta·W2ᵀ   (autograd: N·∂E/∂H_out)\n", text);
        Assert.Contains("H_in = X·W1   (autograd: forward)\n", text);
        Assert.Contains("X = [[4.900 3.000 1.400 0.200]\n", text);
    }

    [Fact]
    public void ShapeErrorsSayWhatWasExpectedAndWhatArrived()
    {
        var ex = Assert.Throws<ShapeMismatchException>(() =>
            StepTrace.ForTwoLayer(SeedExample.X(), SeedExample.Y(), SeedExample.W1(), Tensor.Zeros(3, 3)));
        Assert.Equal("StepTrace: W2 expected [2, *] (its rows must match the 2 columns of W1) but got [3,3].", ex.Message);

        var ey = Assert.Throws<ShapeMismatchException>(() =>
            StepTrace.ForTwoLayer(SeedExample.X(), Tensor.Zeros(3, 2), SeedExample.W1(), SeedExample.W2()));
        Assert.Equal("StepTrace: Y expected [3,3] (X's rows × the last layer's columns) but got [3,2].", ey.Message);

        var ea = Assert.Throws<ArgumentException>(() =>
            StepTrace.ForTwoLayer(SeedExample.X(), SeedExample.Y(), SeedExample.W1(), SeedExample.W2(), "softsign"));
        Assert.StartsWith("StepTrace layer 1: unknown activation 'softsign'; expected one of sigmoid, tanh, relu, leaky_relu, softmax, log_softmax, identity, gelu, gelu_tanh, silu.", ea.Message);
        Assert.Throws<KeyNotFoundException>(() => SeedExample.Trace()["H_nope"]);
    }

    [Fact]
    public void ForModelNamesDeeperLayersByIndexAndMatchesFiniteDifferences()
    {
        var x = Tensor.FromArray(new float[,] { { 0.5f, -1.0f }, { 1.5f, 0.25f } });
        var y = Tensor.FromArray(new float[,] { { 1f }, { 0f } });
        var w1 = Tensor.FromArray(new float[,] { { 0.3f, -0.6f, 0.2f }, { 0.8f, 0.1f, -0.4f } });
        var b1 = Tensor.FromArray([0.1f, -0.2f, 0.05f]);
        var w2 = Tensor.FromArray(new float[,] { { 0.5f, -0.3f }, { -0.7f, 0.9f }, { 0.2f, 0.4f } });
        var w3 = Tensor.FromArray(new float[,] { { 1.1f }, { -0.6f } });
        var b3 = Tensor.FromArray([0.3f]);
        var layers = new[] { new TraceLayer(w1, b1, "tanh"), new TraceLayer(w2, null, "relu"), new TraceLayer(w3, b3, "sigmoid") };
        var trace = StepTrace.ForModel(x, y, layers);

        Assert.Equal(
            ["X", "Y", "W1", "b1", "W2", "W3", "b3", "L1_in", "L1_out", "L2_in", "L2_out", "O_in", "O_out", "O_error",
             "O_delta", "W3_update", "b3_update", "L2_error", "L2_delta", "W2_update", "L1_error", "L1_delta", "W1_update", "b1_update"],
            trace.Names);
        Assert.Equal("O_delta·W3ᵀ", trace.Find("L2_error")!.Formula);
        Assert.Equal("L1_error ⊙ (1 − L1_out²)", trace.Find("L1_delta")!.Formula);

        // Central differences of E in double precision, parameter by parameter.
        var p = new[] { Matrix(w1), Matrix(b1, 3), Matrix(w2), Matrix(w3), Matrix(b3, 1) };
        var xd = Matrix(x);
        var yd = Matrix(y);
        double Loss()
        {
            var a1 = SeedClosedForm.Map(AddRow(SeedClosedForm.MatMul(xd, p[0]), p[1]), Math.Tanh);
            var a2 = SeedClosedForm.Map(SeedClosedForm.MatMul(a1, p[2]), v => Math.Max(0, v));
            var a3 = SeedClosedForm.Map(AddRow(SeedClosedForm.MatMul(a2, p[3]), p[4]), SeedClosedForm.Sigmoid);
            double s = 0;
            for (int i = 0; i < 2; i++) s += (a3[i, 0] - yd[i, 0]) * (a3[i, 0] - yd[i, 0]);
            return s / (2 * 2);
        }
        Assert.Equal(Loss(), trace.Loss.Item(), 1e-6);
        string[] updates = ["W1_update", "b1_update", "W2_update", "W3_update", "b3_update"];
        for (int k = 0; k < p.Length; k++)
        {
            var got = trace[updates[k]].ToArray();
            int idx = 0;
            for (int i = 0; i < p[k].GetLength(0); i++)
                for (int j = 0; j < p[k].GetLength(1); j++, idx++)
                {
                    double keep = p[k][i, j];
                    p[k][i, j] = keep + 1e-6; double up = Loss();
                    p[k][i, j] = keep - 1e-6; double down = Loss();
                    p[k][i, j] = keep;
                    Assert.True(Math.Abs((up - down) / 2e-6 - got[idx]) < 1e-5, $"{updates[k]}[{i},{j}]: {(up - down) / 2e-6} vs {got[idx]}");
                }
        }
        // The bias update is the column sum of the delta over N.
        var delta = trace["O_delta"].ToArray();
        Assert.Equal((delta[0] + delta[1]) / 2f, trace["b3_update"].Item(), 1e-6f);
    }

    [Fact]
    public void OneLayerModelUsesOutputNamesOnly()
    {
        var trace = StepTrace.ForModel(SeedExample.X(), SeedExample.Y(), [new TraceLayer(Tensor.Zeros(4, 3), null, "identity")]);
        Assert.Equal(["X", "Y", "W1", "O_in", "O_out", "O_error", "O_delta", "W1_update"], trace.Names);
        // Identity output: O_out = O_in = 0, so O_delta = O_error = −Y.
        AssertEqualTensors(trace["O_delta"], -SeedExample.Y(), 0f);
    }

    private static double[,] Matrix(Tensor t, int cols = -1)
    {
        var v = t.ToArray();
        int c = cols > 0 ? cols : t.Dim(1);
        var m = new double[v.Length / c, c];
        for (int i = 0; i < v.Length; i++) m[i / c, i % c] = v[i];
        return m;
    }

    private static double[,] AddRow(double[,] a, double[,] row) =>
        SeedClosedForm.Zip(a, SeedClosedForm.MatMul(SeedClosedForm.Map(new double[a.GetLength(0), 1], _ => 1), row), (u, v) => u + v);

    private static void AssertEqualTensors(Tensor expected, Tensor actual, float tolerance)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.ToArray();
        var a = actual.ToArray();
        for (int i = 0; i < e.Length; i++) Assert.True(Math.Abs(e[i] - a[i]) <= tolerance, $"[{i}]: expected {e[i]} but got {a[i]}.");
    }
}
