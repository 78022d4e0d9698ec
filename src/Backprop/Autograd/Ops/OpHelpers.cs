using Backprop.Kernels;

namespace Backprop;

public sealed partial class Tensor
{
    /// <summary>A new tensor of the given shape with uninitialised (zeroed) storage.</summary>
    internal static Tensor Empty(int[] dims) => new(dims, new float[Shapes.Size(dims)]);

    /// <summary>Elementwise binary op with broadcasting; values only (the caller records the backward).</summary>
    internal static Tensor Elementwise<TOp>(Tensor a, Tensor b, string op) where TOp : IBinaryKernel
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var dims = Shapes.Equal(a.dims, b.dims) ? a.dims : Shapes.Broadcast(a.dims, b.dims, op);
        var r = Empty(dims);
        Broadcast.Binary<TOp>(a.data, a.dims, b.data, b.dims, r.data, dims);
        return r;
    }

    /// <summary>
    /// Sums a gradient of the broadcast result shape back to <paramref name="input"/>'s shape and accumulates it:
    /// a dimension that broadcasting repeated receives the sum of the gradients of its copies.
    /// </summary>
    internal static void AccumulateBroadcastGrad(Tensor input, Tensor grad)
    {
        if (!input.RequiresGrad) return;
        if (Shapes.Equal(input.dims, grad.dims)) input.AccumulateGrad(grad);
        else input.AccumulateOwnedGrad(new Tensor(input.dims, Broadcast.SumTo(grad.data, grad.dims, input.dims)));
    }

    /// <summary>Like <see cref="AccumulateGrad"/>, for a freshly made gradient the tensor may keep as is.</summary>
    internal void AccumulateOwnedGrad(Tensor gradient)
    {
        if (Grad is null && Shapes.Equal(gradient.dims, dims)) Grad = gradient;
        else AccumulateGrad(gradient);
    }

    /// <summary>Applies <paramref name="forward"/> to every element span; values only.</summary>
    internal Tensor Map(SpanMap forward)
    {
        var r = Empty(dims);
        forward(data, r.data);
        return r;
    }

    /// <summary>A span-to-span elementwise function.</summary>
    internal delegate void SpanMap(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>
    /// Records an elementwise unary op whose local derivative is computed by <paramref name="localGrad"/>
    /// (from input x, output y and upstream g into dx): ∂L/∂x = g ⊙ f'(x). <paramref name="fromOutput"/> says that
    /// f' is written in terms of y (sigmoid, tanh, exp, sqrt) rather than x, so y is what the backward saves.
    /// </summary>
    internal Tensor RecordUnary(string op, Tensor input, LocalGrad localGrad, bool fromOutput = false)
    {
        var output = this;
        return Record(op, [input], g =>
        {
            var dx = Empty(input.dims);
            localGrad(input.data, output.data, g.data, dx.data);
            input.AccumulateOwnedGrad(dx);
        }, saved: [fromOutput ? output : input]);
    }

    /// <summary>Fills dx with ∂L/∂x from input x, output y and upstream gradient g.</summary>
    internal delegate void LocalGrad(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> dx);
}
