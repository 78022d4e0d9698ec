using System.Numerics.Tensors;
using Backprop.Kernels;

namespace Backprop.Text;

/// <summary>
/// A linear map y = W·x + b applied to one row at a time, for token-by-token generation: the weight W [out, in]
/// (PyTorch's layout) is copied once, transposed, to Wᵀ [in, out], so each row is one
/// <see cref="DenseKernels.Gemv(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int)"/> streaming Wᵀ's
/// rows with the output columns held in SIMD registers, instead of one dot product (and one horizontal sum) per
/// output. The copy is the weights as they are when it is made.
/// </summary>
internal sealed class RowLinear
{
    private readonly float[] weightT;   // Wᵀ [in, out]
    private readonly float[]? bias;     // b [out]

    public RowLinear(Tensor weight, Tensor? bias)
    {
        Out = weight.Shape[0];
        In = weight.Shape[1];
        weightT = new float[In * Out];
        ChannelsLast.TransposeEach(weightT, weight.AsSpan(), 1, Out, In);   // tiled: [Out, In] → [In, Out]
        this.bias = bias?.AsSpan().ToArray();
    }

    /// <summary>Inputs per row.</summary>
    public int In { get; }

    /// <summary>Outputs per row.</summary>
    public int Out { get; }

    /// <summary>y[out] = Σ_i x[i]·Wᵀ[i, :] + b.</summary>
    public void Apply(Span<float> y, ReadOnlySpan<float> x)
    {
        DenseKernels.Gemv(y, x, weightT, In, Out);
        if (bias is not null) TensorPrimitives.Add(y[..Out], bias, y);
    }
}
