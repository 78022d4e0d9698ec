namespace Backprop.Explain;

/// <summary>
/// The matrix worked example of the seed lecture notes (seed 001): three Iris rows, their one-hot classes, a 4→2→3
/// network without biases, sigmoid everywhere, loss <c>E = 1/(2N)·Σ(O_out − Y)²</c> with N = 9.
/// </summary>
/// <remarks>
/// The seed prints its figures rounded (mostly to two decimals) and computes later figures from the rounded earlier
/// ones, so its <c>H_error</c> (and what follows) differ from the exact values by up to 0.007: e.g. the seed's
/// <c>H_error[1,1] = 0.240</c> is <c>[0.15 −0.15 0.15]·[0.6 −0.5 0.5]</c> from its two-decimal <c>O_delta</c>;
/// exactly it is 0.233. <see cref="Trace"/> gives the exact values.
/// </remarks>
public static class SeedExample
{
    /// <summary>X [3, 4]: Iris rows 1, 51 and 101 (setosa, versicolor, virginica).</summary>
    public static Tensor X() => Tensor.FromArray(new float[,]
    {
        { 4.9f, 3.0f, 1.4f, 0.2f },
        { 6.4f, 3.2f, 4.5f, 1.5f },
        { 5.8f, 2.7f, 5.1f, 1.9f },
    });

    /// <summary>Y [3, 3]: the one-hot classes of the three rows (the identity matrix).</summary>
    public static Tensor Y() => Tensor.Eye(3);

    /// <summary>W1 [4, 2]: input → hidden weights.</summary>
    public static Tensor W1() => Tensor.FromArray(new float[,]
    {
        { 0.7f, 0.4f },
        { -0.8f, 0.0f },
        { 0.3f, -0.4f },
        { 0.1f, 0.1f },
    });

    /// <summary>W2 [2, 3]: hidden → output weights.</summary>
    public static Tensor W2() => Tensor.FromArray(new float[,]
    {
        { 0.0f, -0.1f, 0.2f },
        { 0.6f, -0.5f, 0.5f },
    });

    /// <summary>The seed's step: <c>StepTrace.ForTwoLayer(X, Y, W1, W2, "sigmoid")</c>.</summary>
    public static StepTrace Trace() => StepTrace.ForTwoLayer(X(), Y(), W1(), W2(), "sigmoid");
}
