using Backprop.Kernels;

namespace Backprop;

// LayerNorm and RMSNorm as single fused ops with closed-form backward passes (not a graph of mean/sub/pow/div
// nodes): each saves its input and the per-row statistics, O(rows) floats.
public sealed partial class Tensor
{
    /// <summary>
    /// Layer normalisation over the last <paramref name="normalizedDims"/> axes (PyTorch's <c>F.layer_norm</c>):
    /// each group of d = product of those axes values is normalised with its own mean and biased variance,
    /// <c>y = (x − μ)/√(σ² + ε)·γ + β</c>, γ and β of the normalised shape (either may be null).
    /// Backward: with x̂ the normalised value and ĝ = g·γ, ∂L/∂x = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))/√(σ² + ε).
    /// </summary>
    /// <exception cref="ShapeMismatchException">The input has fewer axes than are normalised, or γ/β have another size.</exception>
    public static Tensor LayerNorm(Tensor input, int normalizedDims, Tensor? weight = null, Tensor? bias = null, float eps = 1e-5f) =>
        RowNorm(input, normalizedDims, weight, bias, eps, centre: true);

    /// <summary>
    /// RMS normalisation over the last <paramref name="normalizedDims"/> axes (PyTorch 2.4's <c>F.rms_norm</c>):
    /// <c>y = x/√(mean(x²) + ε)·γ</c>. Backward: ∂L/∂x = (ĝ − x̂·mean(ĝ·x̂))/rms with x̂ = x/rms, ĝ = g·γ.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The input has fewer axes than are normalised, or γ has another size.</exception>
    public static Tensor RmsNorm(Tensor input, int normalizedDims, Tensor? weight = null, float eps = 1.1920929e-07f) =>
        RowNorm(input, normalizedDims, weight, null, eps, centre: false);

    private static Tensor RowNorm(Tensor input, int normalizedDims, Tensor? weight, Tensor? bias, float eps, bool centre)
    {
        ArgumentNullException.ThrowIfNull(input);
        string op = centre ? "layer_norm" : "rms_norm";
        if (normalizedDims < 1 || input.Rank < normalizedDims)
            throw new ShapeMismatchException($"{op} normalises the last {normalizedDims} axes, but the input {Shapes.Format(input.dims)} has {input.Rank}.");
        int d = Shapes.Size(input.dims.AsSpan(input.Rank - normalizedDims)), rows = d == 0 ? 0 : input.Size / d;
        CheckAffine(op, "weight", weight, d, input, normalizedDims);
        CheckAffine(op, "bias", bias, d, input, normalizedDims);
        var mean = centre ? TensorArena.Floats(rows) : [];
        var rstd = TensorArena.Floats(rows);
        var y = Uninitialized(input.dims);
        ReadOnlySpan<float> gamma = weight is null ? [] : weight.data;
        if (centre) LayerNormKernels.Forward(y.data, mean, rstd, input.data, gamma, bias is null ? [] : bias.data, rows, d, eps);
        else LayerNormKernels.RmsForward(y.data, rstd, input.data, gamma, rows, d, eps);

        if (y.Record(op, RowNormBackward, input, weight, bias, weight is null ? Saves.Input0 : Saves.Input0 | Saves.Input1) is { } node)
        {
            (node.I0, node.I1, node.I2) = (rows, d, (weight is null ? 0 : HasWeight) | (bias is null ? 0 : HasBias) | (centre ? Centred : 0));
            (node.Buffer0, node.Buffer1) = (mean, rstd);
        }
        return y;
    }

    private const int HasWeight = 1, HasBias = 2, Centred = 4;

    // Inputs x [rows, d], then γ [d] and β [d] when present (node.I2 says which); the forward's per-row mean and
    // 1/σ in Buffer0 and Buffer1.
    private static readonly GradNode.StaticBackward RowNormBackward = static (node, g) =>
    {
        int rows = node.I0, d = node.I1, flags = node.I2;
        var input = node.Inputs[0];
        var weight = (flags & HasWeight) != 0 ? node.Inputs[1] : null;
        var bias = (flags & HasBias) != 0 ? node.Inputs[^1] : null;
        var dx = input.RequiresGrad ? Uninitialized(input.dims) : null;
        var dGamma = weight is { RequiresGrad: true } ? Empty(weight.dims) : null;
        var dBeta = bias is { RequiresGrad: true } ? Empty(bias.dims) : null;
        var scratch = TensorArena.Floats(LayerNormKernels.BackwardScratchLength(rows, d));
        LayerNormKernels.Backward(dx is null ? [] : dx.data, dGamma is null ? [] : dGamma.data, dBeta is null ? [] : dBeta.data,
            g.data, input.data, node.Buffer0, node.Buffer1, weight is null ? [] : weight.data, rows, d, scratch, (flags & Centred) != 0);
        if (dx is not null) input.AccumulateOwnedGrad(dx);
        if (dGamma is not null) weight!.AccumulateOwnedGrad(dGamma);
        if (dBeta is not null) bias!.AccumulateOwnedGrad(dBeta);
    };

    private static void CheckAffine(string op, string name, Tensor? t, int d, Tensor input, int normalizedDims)
    {
        if (t is not null && t.Size != d)
            throw new ShapeMismatchException($"{op}: {name} should have {d} values (shape {Shapes.Format(input.dims[(input.Rank - normalizedDims)..])}) but has shape {Shapes.Format(t.dims)}.");
    }
}
