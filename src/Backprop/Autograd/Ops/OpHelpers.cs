using Backprop.Kernels;

namespace Backprop;

public sealed partial class Tensor
{
    /// <summary>
    /// An op's new result (or gradient) of the given shape, zeroed: its storage is rented from the step scope open on
    /// this thread (<see cref="TensorArena"/>), or ordinary memory when none is. Every op creates its tensors here.
    /// </summary>
    internal static Tensor Empty(int[] dims) => Rented(dims, clear: true);

    /// <summary>Like <see cref="Empty"/> for a caller that writes every element: a reused buffer is not zeroed first.</summary>
    internal static Tensor Uninitialized(int[] dims) => Rented(dims, clear: false);

    private static Tensor Rented(int[] dims, bool clear) => TensorArena.NewTensor(dims, clear);

    /// <summary>An op's rank-0 result holding <paramref name="value"/> (rented like <see cref="Empty"/>).</summary>
    internal static Tensor ScalarResult(float value)
    {
        var t = Uninitialized([]);
        t.data[0] = value;
        return t;
    }

    /// <summary>Elementwise binary op with broadcasting; values only (the caller records the backward).</summary>
    internal static Tensor Elementwise<TOp>(Tensor a, Tensor b, string op) where TOp : IBinaryKernel
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var dims = Shapes.Equal(a.dims, b.dims) ? a.dims : Shapes.BroadcastShared(a.dims, b.dims, op);
        var r = Uninitialized(dims);
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
        else
        {
            var summed = Empty(input.dims);
            Broadcast.SumTo(grad.data, grad.dims, input.dims, summed.data);
            input.AccumulateOwnedGrad(summed);
        }
    }

    /// <summary>
    /// Like <see cref="AccumulateGrad"/>, for a freshly made gradient that nothing else holds: the tensor may keep it as
    /// is, and otherwise its rented storage goes back to the pool at once. A leaf never keeps rented storage, since its
    /// gradient outlives the step.
    /// </summary>
    internal void AccumulateOwnedGrad(Tensor gradient)
    {
        if (Grad is null && Shapes.Equal(gradient.dims, dims) && (Node is not null || gradient is { lease: < 0, pooled: false })) Grad = gradient;
        else
        {
            AccumulateGrad(gradient);
            TensorArena.Release(gradient);
        }
    }

    /// <summary>Applies <paramref name="forward"/> to every element span; values only.</summary>
    internal Tensor Map(SpanMap forward)
    {
        var r = Uninitialized(dims);
        forward(data, r.data);
        return r;
    }

    /// <summary>A span-to-span elementwise function.</summary>
    internal delegate void SpanMap(ReadOnlySpan<float> x, Span<float> y);

    /// <summary><see cref="Map(SpanMap)"/> for a map with up to two constants (a slope, bounds), passed rather than captured.</summary>
    internal Tensor Map(SpanMapWith forward, float a, float b = 0f)
    {
        var r = Uninitialized(dims);
        forward(data, r.data, a, b);
        return r;
    }

    internal delegate void SpanMapWith(ReadOnlySpan<float> x, Span<float> y, float a, float b);

    /// <summary>
    /// Records an elementwise unary op whose local derivative is computed by <paramref name="localGrad"/>
    /// (from input x, output y and upstream g into dx): ∂L/∂x = g ⊙ f'(x). <paramref name="fromOutput"/> says that
    /// f' is written in terms of y (sigmoid, tanh, exp, sqrt) rather than x, so y is what the backward saves.
    /// </summary>
    internal Tensor RecordUnary(string op, Tensor input, LocalGrad localGrad, bool fromOutput = false)
    {
        // localGrad is a cached static lambda (or a closure the caller already made): storing it allocates nothing.
        if (Record(op, UnaryBackward, input, saves: fromOutput ? Saves.Output : Saves.Input0) is { } node) node.State = localGrad;
        return this;
    }

    // dx = f'(x)·g elementwise, by the op's LocalGrad from x, y = f(x) and g.
    private static readonly GradNode.StaticBackward UnaryBackward = static (node, g) =>
    {
        var input = node.Inputs[0];
        var dx = Uninitialized(input.dims);
        ((LocalGrad)node.State!)(input.data, node.Output!.data, g.data, dx.data);
        input.AccumulateOwnedGrad(dx);
    };

    /// <summary>Fills dx with ∂L/∂x from input x, output y and upstream gradient g.</summary>
    internal delegate void LocalGrad(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> dx);

    /// <summary>
    /// <see cref="RecordUnary(string, Tensor, LocalGrad, bool)"/> for a local gradient with up to two constants, kept
    /// in the node (so a <c>static</c> lambda serves every call: nothing is allocated).
    /// </summary>
    internal Tensor RecordUnary(string op, Tensor input, LocalGradWith localGrad, float a, float b = 0f)
    {
        if (Record(op, UnaryWithBackward, input, saves: Saves.Input0) is { } node) (node.State, node.F0, node.D0) = (localGrad, a, b);
        return this;
    }

    private static readonly GradNode.StaticBackward UnaryWithBackward = static (node, g) =>
    {
        var input = node.Inputs[0];
        var dx = Uninitialized(input.dims);
        ((LocalGradWith)node.State!)(input.data, node.Output!.data, g.data, dx.data, node.F0, (float)node.D0);
        input.AccumulateOwnedGrad(dx);
    };

    internal delegate void LocalGradWith(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> dx, float a, float b);
}
